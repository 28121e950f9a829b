"""`manage.py telegram_poll`: run the bot locally with getUpdates instead of a webhook.

Each update goes through the same intake as the webhook (stored once per update_id, handled by
the Celery task — in-process when no broker is configured). Between polls it also runs the
delivery sweeper, so that with eager Celery (no broker, no beat) notification retries still go
out. Telegram refuses getUpdates while a webhook is set: `telegram_webhook delete` first.
"""

import logging
import time

from django.core.management.base import BaseCommand, CommandError

from p2phub.clients import telegram
from p2phub.clients.errors import ExternalServiceError, TransientExternalError
from partners.bot.updates import telegram_update_receive
from partners.management.commands.telegram_webhook import ALLOWED_UPDATES
from partners.tasks import notifications_sweep

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the Telegram bot with long polling (local use; production uses the webhook)."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=int, default=25, help="Long-poll timeout in seconds.")
        parser.add_argument("--once", action="store_true", help="Poll once and exit (for scripts and tests).")

    def handle(self, *args, timeout: int, once: bool, **options):
        offset = None
        self.stdout.write("Polling Telegram for updates (Ctrl+C to stop)…")
        while True:
            try:
                updates = telegram.get_updates(offset=offset, timeout=0 if once else timeout, allowed_updates=ALLOWED_UPDATES)
            except TransientExternalError as error:
                logger.warning("getUpdates failed (%s); retrying", error)
                if once:
                    raise CommandError(str(error)) from error
                time.sleep(min(error.retry_after or 3.0, 30.0))
                continue
            except ExternalServiceError as error:
                raise CommandError(f"Telegram refused getUpdates: {error} (is a webhook set?)") from error
            for update in updates:
                update_id = update.get("update_id")
                if not isinstance(update_id, int) or isinstance(update_id, bool):
                    continue
                offset = max(offset or 0, update_id + 1)
                if telegram_update_receive(update):
                    self.stdout.write(f"update {update_id} received")
            notifications_sweep()
            if once:
                return
