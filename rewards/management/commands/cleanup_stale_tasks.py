from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from rewards.services import tasks_cleanup_stale


class Command(BaseCommand):
    help = "Forget started, never-claimed tasks untouched for STALE_TASK_DAYS (they become available again)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help=f"Default: STALE_TASK_DAYS ({settings.STALE_TASK_DAYS})")

    def handle(self, *args, **options):
        days = options["days"]
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1")
        self.stdout.write(f"{tasks_cleanup_stale(days=days)} stale started tasks removed")
