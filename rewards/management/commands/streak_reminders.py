from django.core.management.base import BaseCommand

from rewards.services import streak_reminders_send


class Command(BaseCommand):
    help = "Notify members who checked in yesterday but not yet today (once per member per day)."

    def handle(self, *args, **options):
        self.stdout.write(f"{streak_reminders_send()} streak-at-risk notifications created")
