from django.core.management.base import BaseCommand

from articles.seed import seed_load


class Command(BaseCommand):
    help = "Load the shipped article, its model facts and its reader poll. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help="Reset the article, its facts, brands, platforms and models to the shipped "
            "data, discarding editors' changes to them (comments and votes are kept).",
        )

    def handle(self, *args, overwrite=False, verbosity=1, **options):
        result = seed_load(overwrite=overwrite)
        if verbosity < 1:
            return
        if result.created:
            message = f"Loaded “{result.article}” with {result.article.facts.count()} facts."
        elif result.overwritten:
            message = f"Reset “{result.article}” to the shipped text and facts."
        else:
            message = (
                f"“{result.article}” is already loaded; left as it is "
                "(use --overwrite to reset it to the shipped data)."
            )
        self.stdout.write(self.style.SUCCESS(message))
