from . import discussion, polls  # noqa: F401  (registers the ModelAdmins)
