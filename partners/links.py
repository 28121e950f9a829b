"""The three ways into the network for a referral code (SPEC §10)."""

from django.conf import settings


def bot_link(code: str) -> str:
    return f"https://t.me/{settings.TELEGRAM_BOT_USERNAME}?start={code}"


def mini_app_link(code: str) -> str:
    return f"https://t.me/{settings.TELEGRAM_BOT_USERNAME}/{settings.TELEGRAM_MINI_APP_NAME}?startapp={code}"


def web_link(code: str) -> str:
    return f"{settings.SITE_URL}/r/{code}"
