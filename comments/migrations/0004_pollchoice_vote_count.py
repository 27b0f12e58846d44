from django.db import migrations, models
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce


def count_votes(apps, schema_editor):
    PollChoice = apps.get_model("comments", "PollChoice")
    Vote = apps.get_model("comments", "Vote")
    votes = (
        Vote.objects.filter(choice=OuterRef("pk"))
        .order_by()
        .values("choice")
        .annotate(total=Count("pk"))
        .values("total")
    )
    PollChoice.objects.update(vote_count=Coalesce(Subquery(votes), 0))


class Migration(migrations.Migration):
    dependencies = [("comments", "0003_report_ip_hash")]

    operations = [
        migrations.AddField(
            model_name="pollchoice",
            name="vote_count",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(count_votes, migrations.RunPython.noop),
    ]
