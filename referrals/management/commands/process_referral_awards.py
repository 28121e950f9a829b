"""Repair tool: (re)process referral awards. Idempotent, so it is always safe to run:
already-paid awards, review rows and withheld events are never written twice.

    manage.py process_referral_awards --retries             # due ReferralAwardRetry rows now
    manage.py process_referral_awards --retries --now       # every unfinished one, due or not
    manage.py process_referral_awards --member 42 --member 43
    manage.py process_referral_awards --since 2026-01-01T00:00:00Z
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from partners.models import Partner
from referrals.models import ReferralAwardRetry
from referrals.services import referral_award_retries_due, referral_awards_reprocess, referral_awards_retry


class Command(BaseCommand):
    help = "Process referral awards again for members (idempotent), or run pending retries."

    def add_arguments(self, parser):
        parser.add_argument("--member", type=int, action="append", default=[], help="partner id (repeatable)")
        parser.add_argument("--since", help="every member with a referrer who joined at/after this ISO time")
        parser.add_argument(
            "--retries", action="store_true", help="award retries that are due (the one retry schedule)"
        )
        parser.add_argument(
            "--now", action="store_true", help="with --retries: also the unfinished retries not due yet"
        )

    def handle(self, *args, member, since, retries, now, **options):
        if not (member or since or retries):
            raise CommandError("Give --member, --since or --retries.")
        ids = list(member)
        if since:
            moment = parse_datetime(since)
            if moment is None:
                raise CommandError(f"--since {since!r} is not an ISO date-time.")
            ids += list(
                Partner.objects.filter(joined_at__gte=moment, referrer__isnull=False)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        failed = 0
        if retries:
            if now:
                pending = list(
                    ReferralAwardRetry.objects.filter(done_at__isnull=True).order_by("pk").values_list("pk", flat=True)
                )
            else:
                pending = referral_award_retries_due(limit=100_000)
            for retry_id in pending:
                if not referral_awards_retry(retry_id, force=now):
                    failed += 1
                    self.stderr.write(f"retry {retry_id}: failed again")
        written = 0
        for member_id in ids:
            try:
                written += len(referral_awards_reprocess(new_member_id=member_id))
            except Exception as error:  # noqa: BLE001 - report and carry on with the others
                failed += 1
                self.stderr.write(f"member {member_id}: {error}")
        self.stdout.write(f"Processed {len(ids)} member(s); {written} audit row(s) written; {failed} failure(s).")
        if failed:
            raise CommandError(f"{failed} failure(s)", returncode=1)
