from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from .comments import once_per_reader


class Poll(models.Model):
    class ResultsVisibility(models.TextChoices):
        ALWAYS = "always", "Always"
        AFTER_VOTE = "after_vote", "After voting"
        AFTER_CLOSE = "after_close", "After the poll closes"
        EDITORS = "editors", "Editors only"

    article = models.ForeignKey("articles.Article", on_delete=models.CASCADE, related_name="polls")
    question = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    opens_at = models.DateTimeField(default=timezone.now)
    closes_at = models.DateTimeField(null=True, blank=True)
    results_visibility = models.CharField(
        max_length=12, choices=ResultsVisibility.choices, default=ResultsVisibility.AFTER_VOTE
    )
    allow_vote_change = models.BooleanField(default=True)
    refused_duplicates = models.PositiveIntegerField(default=0)
    refused_over_cap = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["article", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__isnull=True) | Q(closes_at__gt=models.F("opens_at")),
                name="poll_closes_after_opening",
            ),
        ]

    def __str__(self):
        return self.question

    def get_absolute_url(self):
        return reverse("comments:poll", kwargs={"pk": self.pk})


class PollChoice(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="choices")
    label = models.CharField(max_length=120)
    position = models.PositiveSmallIntegerField(default=0)
    # Kept equal to the number of its votes by the vote service, in the vote's transaction;
    # `manage.py poll_recount` checks it against the votes.
    vote_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["poll", "position", "pk"]

    def __str__(self):
        return self.label


class Vote(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="votes")
    choice = models.ForeignKey(PollChoice, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True)
    reader_token = models.CharField(max_length=64, blank=True)
    ip_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["poll", "ip_hash", "created_at"], name="vote_ip_cap"),
            models.Index(fields=["poll", "created_at", "choice"], name="vote_by_day"),
        ]
        constraints = once_per_reader("poll", "vote")

    def __str__(self):
        return f"Vote for {self.choice_id} in poll {self.poll_id}"
