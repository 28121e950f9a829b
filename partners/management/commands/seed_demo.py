"""Builds the demo network: 30 days of genuine activity through the real services (see
p2phub/demo.py). Idempotent: a second run creates nothing, an interrupted run resumes."""

import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from p2phub.demo import DEMO_TELEGRAM_BASE, DemoNetwork
from partners.models import Partner


def _progress(done: int, total: int, width: int = 40) -> None:
    if sys.stdout.isatty():
        filled = int(width * done / total) if total else width
        sys.stdout.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total} events")
        sys.stdout.flush()
    elif done % 1000 == 0 or done == total:  # logs and CI get a line now and then, not a bar
        sys.stdout.write(f"  {done}/{total} events\n")


class Command(BaseCommand):
    help = "Seed a demo referral network (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=2000)
        parser.add_argument("--pro-share", type=float, default=0.12, help="share of members made PRO")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--admin-password", default="p2phub-demo", help="password of the demo staff user 'admin'")

    def handle(self, *args, members: int, pro_share: float, seed: int, admin_password: str, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo refuses to run with DJANGO_ENV=production.")
        if members < 1:
            raise CommandError("--members must be at least 1.")
        began = time.monotonic()
        self.stdout.write(f"Seeding a demo network of {members} members with 30 days of activity…")
        network = DemoNetwork(
            members=members, pro_share=pro_share, seed=seed, admin_password=admin_password, progress=_progress
        )
        # DEBUG's query log costs ~5% of the seed and grows to its cap: off while seeding.
        with override_settings(DEBUG=False):
            report = network.run()
        self.stdout.write("")
        demo = Partner.objects.filter(telegram_id__gte=DEMO_TELEGRAM_BASE, telegram_id__lt=DEMO_TELEGRAM_BASE + members)
        deepest = demo.order_by("-depth").first()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo network ready in {time.monotonic() - began:.1f} s: {report.created} created, {report.kept} kept; "
                f"deepest member at depth {deepest.depth if deepest else 0}; {demo.filter(is_pro=True).count()} PRO."
            )
        )
        if report.done:
            self.stdout.write("  activity: " + ", ".join(f"{kind} {count}" for kind, count in sorted(report.done.items())))
        if report.skipped:
            self.stdout.write("  declined by the rules: " + ", ".join(f"{k} {c}" for k, c in sorted(report.skipped.items())))
        top = demo.order_by("pk").first()
        self.stdout.write(
            "\nHow to sign in:\n"
            f"  Staff admin:   {settings.SITE_URL}/admin/  user 'admin', password '{admin_password}'\n"
            f"  Mini App API:  .venv/bin/python manage.py demo_init_data {top.telegram_id}\n"
            "                 prints a signed `Authorization: tma …` header (valid for INIT_DATA_MAX_AGE seconds)\n"
            f"                 for {top.display_name} ({top.referral_code}), the top of the demo network.\n"
            f"  Web dashboard: .venv/bin/python manage.py web_login_link {top.referral_code}\n"
            "                 prints a one-time sign-in link (10 minutes), as the bot's /login sends\n"
            f"  Staff charts:  {settings.SITE_URL}/staff/  (signed in as 'admin')\n"
            f"  API docs:      {settings.SITE_URL}/api/docs/\n"
        )
