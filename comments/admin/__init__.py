from . import comments, polls  # noqa: F401  (registers the ModelAdmins)
