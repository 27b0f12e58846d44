from django.core.management.base import BaseCommand

from comments.polls.services import polls_recount


class Command(BaseCommand):
    help = "Recount each poll choice's votes, report any counter that drifted, and fix it."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="Only report drift; exit 1 if there is any."
        )

    def handle(self, *args, check=False, **options):
        drifted = polls_recount(fix=not check)
        for choice, counter, votes in drifted:
            self.stdout.write(
                f"Poll {choice.poll_id} “{choice.poll}”, choice {choice.pk} “{choice}”: "
                f"counter {counter}, votes {votes}" + ("" if check else " (fixed)")
            )
        if not drifted:
            self.stdout.write("Every choice's counter matches its votes.")
        elif check:
            raise SystemExit(1)
