"""Prints a signed Mini App `Authorization` header for a member, for trying the API locally
(signed with the configured bot token; refused in production).

`--curl` prints a whole shell command, quoted for the shell: paste it, or run it in one go with
`eval "$(.venv/bin/python manage.py demo_init_data ID --curl)"` (a bare `$(…)` would split the
header at its spaces and keep the quotes as text)."""

import shlex

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from p2phub.testing.telegram import signed_init_data
from partners.models import Partner


class Command(BaseCommand):
    help = "Print a signed `Authorization: tma <initData>` header for a Telegram id (local use)."

    def add_arguments(self, parser):
        parser.add_argument("telegram_id", type=int)
        parser.add_argument("--start-param", default="", help="referral code, for a first sign-in")
        parser.add_argument("--curl", action="store_true", help="print a ready curl command (default: for /api/v1/me/)")
        parser.add_argument("--path", default="/api/v1/me/", help="API path of the --curl command")
        parser.add_argument(
            "--base-url", default="", help="server of the --curl command (default: SITE_URL, the one `make run` serves)"
        )

    def handle(self, *args, telegram_id: int, start_param: str, curl: bool, path: str, base_url: str, **options):
        if settings.PRODUCTION:
            raise CommandError("demo_init_data refuses to run with DJANGO_ENV=production.")
        partner = Partner.objects.filter(telegram_id=telegram_id).first()
        header = "tma " + signed_init_data(
            bot_token=settings.TELEGRAM_BOT_TOKEN,
            user_id=telegram_id,
            first_name=partner.first_name if partner else "Demo",
            last_name=partner.last_name if partner else "",
            username=partner.username if partner else "",
            start_param=start_param,
        )
        if curl:
            url = (base_url or settings.SITE_URL).rstrip("/") + "/" + path.lstrip("/")
            self.stdout.write(shlex.join(["curl", "-sS", "-H", f"Authorization: {header}", url]))
        else:
            self.stdout.write(header)
