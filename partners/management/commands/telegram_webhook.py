"""`manage.py telegram_webhook set|delete|info`: register the bot's webhook with Telegram.

`set` points Telegram at TELEGRAM_WEBHOOK_URL (default SITE_URL/telegram/webhook/; Telegram
requires HTTPS) with TELEGRAM_WEBHOOK_SECRET as the secret token and the update types the bot
handles; `delete` removes it (needed before `telegram_poll`); `info` prints getWebhookInfo.
"""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from p2phub.clients import telegram
from p2phub.clients.errors import ExternalServiceError

ALLOWED_UPDATES = ["message", "my_chat_member"]


class Command(BaseCommand):
    help = "Register (set), remove (delete) or show (info) the Telegram bot webhook."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["set", "delete", "info"])
        parser.add_argument("--url", default="", help="Webhook URL (default TELEGRAM_WEBHOOK_URL).")
        parser.add_argument(
            "--drop-pending-updates", action="store_true", help="Discard updates Telegram is holding."
        )

    def handle(self, *args, action: str, url: str, drop_pending_updates: bool, **options):
        try:
            if action == "set":
                self._set(url or settings.TELEGRAM_WEBHOOK_URL, drop_pending_updates)
            elif action == "delete":
                telegram.delete_webhook(drop_pending_updates=drop_pending_updates)
                self.stdout.write(self.style.SUCCESS("Webhook deleted."))
            else:
                info = telegram.get_webhook_info()
                self.stdout.write(json.dumps(info, indent=2, sort_keys=True))
        except ExternalServiceError as error:
            raise CommandError(f"Telegram refused: {error}") from error

    def _set(self, url: str, drop_pending_updates: bool) -> None:
        if not url.startswith("https://"):
            raise CommandError(f"Telegram only calls HTTPS webhooks; {url!r} is not one (set TELEGRAM_WEBHOOK_URL).")
        secret = settings.TELEGRAM_WEBHOOK_SECRET
        if not secret:
            raise CommandError("Set TELEGRAM_WEBHOOK_SECRET first (1-256 characters A-Z, a-z, 0-9, _ and -).")
        telegram.set_webhook(
            url, secret_token=secret, allowed_updates=ALLOWED_UPDATES, drop_pending_updates=drop_pending_updates
        )
        self.stdout.write(self.style.SUCCESS(f"Webhook set: {url} (updates: {', '.join(ALLOWED_UPDATES)})."))
