from django.apps import AppConfig


class CommentsConfig(AppConfig):
    name = "comments"
    verbose_name = "Reader discussion"

    def ready(self):
        from .polls import history  # noqa: F401, PLC0415: connects the vote signals
