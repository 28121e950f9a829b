from django.core.management.base import BaseCommand, CommandError

from p2phub.clients.errors import ExternalServiceError
from payments.services import ton_poll


class Command(BaseCommand):
    help = "Run one TON verification round now (what the 30-second beat job does)."

    def handle(self, *args, **options):
        try:
            outcomes = ton_poll()
        except ExternalServiceError as exc:
            raise CommandError(f"TON indexer unavailable, nothing changed: {exc}") from exc
        summary = " ".join(f"{status}={count}" for status, count in sorted(outcomes.items())) or "no new transfers"
        self.stdout.write(summary)
