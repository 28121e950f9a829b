"""Fold unfolded XP delta rows into cached balances now (the beat task does it every minute)."""

from django.core.management.base import BaseCommand, CommandError

from rewards.services import xp_fold_all


class Command(BaseCommand):
    help = "Fold pending XP delta rows into XPBalance."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        self.stdout.write(f"Folded {xp_fold_all(batch_size=batch_size)} delta row(s).")
