"""Builds a realistic demo network through the real join service (so referral awards, audit
rows and ledgers are genuine). The plan is deterministic, so a second run creates nothing new
and an interrupted run resumes where it stopped."""

import random
import sys
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from partners.models import Partner
from partners.services import SignupContext, partner_join

DEMO_TELEGRAM_BASE = 990_000_000_000
FIRST_NAMES = ["Alex", "Maria", "Ivan", "Olga", "Sam", "Lena", "Max", "Nina", "Leo", "Anna", "Dmitri", "Sofia", "Tom", "Eva", "Igor", "Mila", "Oleg", "Kate", "Yuri", "Zoe"]
LAST_NAMES = ["Petrov", "Smith", "Ivanova", "Brown", "Kuznetsov", "Garcia", "Sokolova", "Miller", "Popov", "Wilson", "Novak", "Lee"]


def demo_plan(members: int, seed: int) -> list[int | None]:
    """parents[i] = index of member i's referrer (None for a root). A spine guarantees a chain
    deeper than 12 levels; the rest attach preferentially to recent members, which grows deep,
    bushy downlines like real referral networks."""
    rng = random.Random(seed)
    roots, spine = 5, 16
    parents: list[int | None] = [None] * min(roots, members)
    for i in range(roots, min(roots + spine, members)):
        parents.append(i - 1 if i > roots else 0)
    for i in range(len(parents), members):
        if rng.random() < 0.65:
            parents.append(rng.randrange(max(0, i - 300), i))
        else:
            parents.append(rng.randrange(0, i))
    return parents


def _progress(done: int, total: int, width: int = 40) -> None:
    filled = int(width * done / total) if total else width
    sys.stdout.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stdout.flush()


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
        parents = demo_plan(members, seed)
        rng = random.Random(seed + 1)
        telegram_ids = [DEMO_TELEGRAM_BASE + i for i in range(members)]
        existing = dict(Partner.objects.filter(telegram_id__in=telegram_ids).values_list("telegram_id", "pk"))
        ids_by_index: dict[int, int] = {}
        self.stdout.write(f"Seeding {members} demo members ({len(existing)} already present)…")
        created = 0
        now = timezone.now()
        for index, parent_index in enumerate(parents):
            telegram_id = telegram_ids[index]
            if telegram_id in existing:
                ids_by_index[index] = existing[telegram_id]
            else:
                referrer = Partner.objects.get(pk=ids_by_index[parent_index]) if parent_index is not None else None
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                with transaction.atomic():
                    partner = partner_join(
                        referrer=referrer,
                        telegram_id=telegram_id,
                        username=f"{first.lower()}_{last.lower()}_{index}",
                        first_name=first,
                        last_name=last,
                        language="ru" if rng.random() < 0.4 else "en",
                        signup=SignupContext(channel="seed"),
                    ).partner
                    if rng.random() < pro_share:
                        Partner.objects.filter(pk=partner.pk).update(
                            is_pro=True, pro_expires_at=now + timedelta(days=rng.randint(2, 30))
                        )
                ids_by_index[index] = partner.pk
                created += 1
            if index % 25 == 0 or index == members - 1:
                _progress(index + 1, members)
        self.stdout.write("")
        deepest = Partner.objects.filter(telegram_id__in=telegram_ids).order_by("-depth").first()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo network ready: {created} created, {members - created} kept; deepest member at depth "
                f"{deepest.depth if deepest else 0}; {Partner.objects.filter(telegram_id__in=telegram_ids, is_pro=True).count()} PRO."
            )
        )
        self._ensure_admin(admin_password)
        top = Partner.objects.get(telegram_id=telegram_ids[0])
        self.stdout.write(
            "\nHow to sign in:\n"
            f"  Staff admin:   {settings.SITE_URL}/admin/  user 'admin', password '{admin_password}'\n"
            f"  Mini App API:  .venv/bin/python manage.py demo_init_data {top.telegram_id}\n"
            "                 prints a signed `Authorization: tma …` header (valid for INIT_DATA_MAX_AGE seconds)\n"
            f"                 for {top.display_name} ({top.referral_code}), the top of the demo network.\n"
            f"  API docs:      {settings.SITE_URL}/api/docs/\n"
        )

    def _ensure_admin(self, password: str) -> None:
        User = get_user_model()
        if not User.objects.filter(username="admin").exists():
            User.objects.create_superuser(username="admin", email="admin@example.com", password=password)
            self.stdout.write("Created staff user 'admin'.")
