"""Seed the SPEC §6 task catalogue. Staff edit it in admin afterwards (URLs, chats, rewards);
re-running the migration never overwrites their edits (get_or_create)."""

from django.db import migrations

SOCIAL = [
    ("telegram_bot", "Start the P2PHub bot", "https://t.me/P2PHubBot", ""),
    ("banking_app", "Open the banking app", "https://p2phub.app/banking", ""),
    ("community_chat", "Join the community chat", "https://t.me/p2phub_community", "@p2phub_community"),
    ("ambassador_hub", "Join the Ambassador Hub", "https://t.me/p2phub_ambassadors", "@p2phub_ambassadors"),
]
REFERRAL = [(1, 100), (3, 150), (5, 200), (10, 350), (25, 500), (50, 700), (100, 1200), (250, 2500), (500, 5000)]


def catalogue():
    order = 0
    for task_id, title, url, chat in SOCIAL:
        order += 10
        yield task_id, dict(type="social", title=title, reward_xp=25, requirement=1, url=url,
                            telegram_chat_id=chat, sort_order=order,
                            description="Open the link, then claim your reward.")
    order += 10
    yield "daily_checkin_5", dict(type="action", title="Check in 5 days in a row", reward_xp=100, requirement=5,
                                  sort_order=order, description="Five consecutive daily check-ins after you start.")
    for count, reward in REFERRAL:
        order += 10
        noun = "friend" if count == 1 else "friends"
        yield f"invite_{count}_{noun}", dict(
            type="referral", title=f"Invite {count} {noun}", reward_xp=reward, requirement=count, sort_order=order,
            description=f"{count} direct referral{'s' if count > 1 else ''} joining after you start.",
        )


def seed(apps, schema_editor):
    Task = apps.get_model("rewards", "Task")
    for task_id, fields in catalogue():
        Task.objects.get_or_create(id=task_id, defaults=fields)


class Migration(migrations.Migration):
    dependencies = [("rewards", "0002_engagement")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
