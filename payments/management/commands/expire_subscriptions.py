from django.core.management.base import BaseCommand

from payments.services import payment_expire_stale, subscriptions_run_expiry


class Command(BaseCommand):
    help = "Send PRO expiry warnings (3 d, 1 d), end expired PRO subscriptions, expire stale payment sessions."

    def handle(self, *args, **options):
        result = subscriptions_run_expiry()
        stale = payment_expire_stale()
        self.stdout.write(
            f"warned={result.warned} expired={result.expired} sessions_expired={stale}"
        )
