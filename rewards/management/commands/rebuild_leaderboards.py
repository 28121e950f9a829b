from django.core.management.base import BaseCommand, CommandError

from rewards import leaderboards


class Command(BaseCommand):
    help = "Rebuild the Redis leaderboards (xp, week, month, streak) from the XP ledger and streaks."

    def handle(self, *args, **options):
        if not leaderboards.redis_enabled():
            raise CommandError("Leaderboards are served from the database (no REDIS_URL): nothing to rebuild.")
        counts = leaderboards.rebuild()
        self.stdout.write(", ".join(f"{name}: {count}" for name, count in counts.items()))
