"""The ways into the network for a referral code (SPEC §10), and the one parser of what a link
carries.

A link may carry the platform it was shared on, in one compact form that fits Telegram's start
parameter (`[A-Za-z0-9_-]{1,64}`) as well as a URL path and a cookie value:

    P2P-7F3A9C21        a plain code (keeps working everywhere)
    P2P-7F3A9C21_wa     the code plus a platform tag (`_` never occurs in a code)

`parse_referral_ref` reads that form wherever a code arrives: `/r/<code>`, the attribution
cookie, the Mini App's start_param and the bot's `/start` payload (through `partner_join`).
Codes are case-insensitive, so tags are too; the full platform name (`_whatsapp`) is accepted
as well. An unknown tag keeps the code and drops the platform; anything that is not a code
plus an optional tag is no code at all.
"""

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

# Platform name → compact tag (in links, start parameters and the cookie). `direct` means "no
# platform known" and has no tag.
PLATFORM_TAGS = {
    "telegram": "tg",
    "whatsapp": "wa",
    "x": "x",
    "facebook": "fb",
    "linkedin": "li",
    "reddit": "rd",
    "email": "em",
    "sms": "sms",
    "qr": "qr",
    "copy": "cp",
}
DIRECT = "direct"
_PLATFORM_BY_TAG = {tag.upper(): platform for platform, tag in PLATFORM_TAGS.items()} | {
    platform.upper(): platform for platform in PLATFORM_TAGS
}
TAG_SEPARATOR = "_"
# Telegram's cap on start_param and the bot's /start payload.
MAX_REF_LENGTH = 64


@dataclass(frozen=True)
class ReferralRef:
    code: str = ""  # a well-formed referral code (upper case), or "" when the value held none
    platform: str = DIRECT

    @property
    def compact(self) -> str:
        """`CODE` or `CODE_tag`: the value for start parameters and the attribution cookie."""
        if not self.code:
            return ""
        tag = PLATFORM_TAGS.get(self.platform)
        return f"{self.code}{TAG_SEPARATOR}{tag}" if tag else self.code


def platform_from_value(value: str | None) -> str:
    """A platform name or tag (any case) → the platform name; anything else → `direct`."""
    return _PLATFORM_BY_TAG.get((value or "").strip().upper()[:16], DIRECT)


def parse_referral_ref(value: str | None) -> ReferralRef:
    """The one parser of a referral value (see the module docstring). Never raises."""
    from partners.services import normalize_referral_code, referral_code_is_valid

    if not isinstance(value, str):
        return ReferralRef()
    normalized = normalize_referral_code(value)
    if len(value.strip()) > MAX_REF_LENGTH:
        return ReferralRef()  # cut down, it could name someone else's code
    code, _, tag = normalized.partition(TAG_SEPARATOR)
    if not referral_code_is_valid(code):
        return ReferralRef()
    return ReferralRef(code=code, platform=platform_from_value(tag) if tag else DIRECT)


def bot_link(code: str, platform: str = DIRECT) -> str:
    ref = ReferralRef(code=code, platform=platform)
    return f"https://t.me/{settings.TELEGRAM_BOT_USERNAME}?start={ref.compact}"


def mini_app_link(code: str, platform: str = DIRECT) -> str:
    ref = ReferralRef(code=code, platform=platform)
    return f"https://t.me/{settings.TELEGRAM_BOT_USERNAME}/{settings.TELEGRAM_MINI_APP_NAME}?startapp={ref.compact}"


def web_link(code: str, platform: str = DIRECT) -> str:
    """`SITE_URL/r/<code>`, with `?p=<platform>` when the platform is known: the link whose
    clicks `/r/` records."""
    link = f"{settings.SITE_URL}/r/{quote(code, safe='')}"
    if platform in PLATFORM_TAGS:
        link += "?" + urlencode({"p": platform})
    return link


def mini_app_url() -> str:
    """The Mini App's t.me link without a referral code (opens it for the member themself)."""
    return f"https://t.me/{settings.TELEGRAM_BOT_USERNAME}/{settings.TELEGRAM_MINI_APP_NAME}"


def share_url(code: str, *, language: str = "en") -> str:
    """Telegram's share sheet with the member's bot link and a short invitation (the bot's
    buttons; the share kit builds every platform's URL in referrals.selectors)."""
    with translation.override(language):
        text = _("Join my team on P2PHub")
    return f"https://t.me/share/url?url={quote(bot_link(code, 'telegram'), safe='')}&text={quote(text, safe='')}"
