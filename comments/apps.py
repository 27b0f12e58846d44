from django.apps import AppConfig


class CommentsConfig(AppConfig):
    name = "comments"
    verbose_name = "Reader discussion"

    def ready(self):
        # Connects the signals that keep a poll's history of earlier days current.
        from .polls import history  # noqa: F401, PLC0415
