"""Translated display labels for values stored in English (rank names, badge names, the seeded
task catalogue, ledger kinds, statuses). Display only: the rules that produce the values stay
in their apps."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

# SPEC §7 rank names (rewards.levels.RANKS); kept as msgids so they are translated on the page.
RANK_NAMES = [
    gettext_noop("Beginner"), gettext_noop("Novice"), gettext_noop("Apprentice"), gettext_noop("Contributor"),
    gettext_noop("Pioneer"), gettext_noop("Pathbreaker"), gettext_noop("Adventurer"), gettext_noop("Voyager"),
    gettext_noop("Ambassador"), gettext_noop("Leader"), gettext_noop("Senior Leader"), gettext_noop("Executive"),
    gettext_noop("Director"), gettext_noop("President"), gettext_noop("Global Partner"),
    gettext_noop("World Partner"), gettext_noop("Elite"), gettext_noop("Master"), gettext_noop("Grandmaster"),
    gettext_noop("Legend"), gettext_noop("VIP"), gettext_noop("VIP II"), gettext_noop("VIP III"),
    gettext_noop("VIP Elite"), gettext_noop("Premium"), gettext_noop("Premium Plus"), gettext_noop("PRO"),
    gettext_noop("PRO Max"), gettext_noop("Immortal"), gettext_noop("Eternal"),
]

# The seeded task catalogue (rewards migration 0003). Titles staff change in admin show as typed.
TASK_TEXTS = [
    gettext_noop("Start the P2PHub bot"), gettext_noop("Open the banking app"),
    gettext_noop("Join the community chat"), gettext_noop("Join the Ambassador Hub"),
    gettext_noop("Open the link, then claim your reward."), gettext_noop("Check in 5 days in a row"),
    gettext_noop("Five consecutive daily check-ins after you start."),
    gettext_noop("Invite 1 friend"), gettext_noop("1 direct referral joining after you start."),
]
_INVITES = (3, 5, 10, 25, 50, 100, 250, 500)


def translated(text: str) -> str:
    """The catalogue translation of a stored English text, or the text as it is."""
    return _(text) if text else text


def task_title(task) -> str:
    if task.type == "referral" and task.requirement in _INVITES and task.title == f"Invite {task.requirement} friends":
        return ngettext("Invite %(count)s friend", "Invite %(count)s friends", task.requirement) % {"count": task.requirement}
    return translated(task.title)


def task_description(task) -> str:
    expected = f"{task.requirement} direct referrals joining after you start."
    if task.type == "referral" and task.description == expected:
        return ngettext(
            "%(count)s direct referral joining after you start.",
            "%(count)s direct referrals joining after you start.",
            task.requirement,
        ) % {"count": task.requirement}
    return translated(task.description)


def badge_name(code: str) -> str:
    names = {
        "streak_7": _("7-day streak"),
        "streak_30": _("30-day streak"),
        "streak_100": _("100-day streak"),
    }
    return names.get(code, code)


def payment_status(status: str) -> str:
    return {
        "pending": _("Waiting for payment"),
        "completed": _("Paid"),
        "expired": _("Expired"),
        "under_review": _("Under review"),
        "rejected": _("Rejected"),
        "refunded": _("Refunded"),
    }.get(status, status)


def payout_status(status: str) -> str:
    return {"requested": _("Requested"), "approved": _("Sent"), "rejected": _("Rejected")}.get(status, status)


def task_status(status: str) -> str:
    return {"available": _("Available"), "started": _("Started"), "completed": _("Completed")}.get(status, status)


def platform_label(platform: str) -> str:
    """A sharing platform (referrals.models.Platform) or one of the three links, for display."""
    return {
        "telegram": "Telegram",
        "whatsapp": "WhatsApp",
        "x": "X",
        "facebook": "Facebook",
        "linkedin": "LinkedIn",
        "reddit": "Reddit",
        "email": _("Email"),
        "sms": "SMS",
        "qr": _("QR code"),
        "copy": _("Copied link"),
        "direct": _("Plain link"),
        "web": _("Web link"),
        "bot": _("Telegram bot link"),
        "mini_app": _("Mini App link"),
    }.get(platform, platform)


def share_tone(tone: str) -> str:
    return {
        "casual": _("Casual"),
        "professional": _("Professional"),
        "excited": _("Excited"),
        "testimonial": _("Testimonial"),
        "urgency": _("Urgency"),
        "value": _("Value"),
        "social_proof": _("Social proof"),
    }.get(tone, tone)
