"""The three ways into the network for a referral code (SPEC §10), and the bot's own links."""

from urllib.parse import quote

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _


def bot_link(code: str) -> str:
    return f"https://t.me/{settings.TELEGRAM_BOT_USERNAME}?start={code}"


def mini_app_link(code: str) -> str:
    return f"https://t.me/{settings.TELEGRAM_BOT_USERNAME}/{settings.TELEGRAM_MINI_APP_NAME}?startapp={code}"


def web_link(code: str) -> str:
    return f"{settings.SITE_URL}/r/{code}"


def mini_app_url() -> str:
    """The Mini App's t.me link without a referral code (opens it for the member themself)."""
    return f"https://t.me/{settings.TELEGRAM_BOT_USERNAME}/{settings.TELEGRAM_MINI_APP_NAME}"


def share_url(code: str, *, language: str = "en") -> str:
    """Telegram's share sheet with the member's bot link and a short invitation."""
    with translation.override(language):
        text = _("Join my team on P2PHub")
    return f"https://t.me/share/url?url={quote(bot_link(code), safe='')}&text={quote(text, safe='')}"
