"""Reads of sharing and attribution (SPEC §10): the share kit and the share funnel.

Both run a fixed number of queries whatever the member's network or the platform's size:
the share kit 3 (templates, the member's USDT earnings, their network counts; the community size
is cached), the funnel 4 (shares, clicks, signups, PRO purchases, each grouped by platform)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.urls import reverse

from partners import links
from partners.models import Partner
from partners.selectors import partner_network_counts
from payments.models import Payment
from payments.selectors import usdt_balances
from referrals.models import (
    SHARE_PLATFORMS,
    Platform,
    ReferralAttribution,
    ShareClick,
    ShareEvent,
    ShareTemplate,
)
from referrals.share_templates import template_render

COMMUNITY_CACHE_KEY = "share:community_size"
COMMUNITY_CACHE_SECONDS = 300
EMAIL_SUBJECT = {"en": "Join me on P2PHub", "ru": "Присоединяйся ко мне в P2PHub"}
# Rows of the funnel, in display order: the share platforms, QR, copy-link, then plain links.
FUNNEL_PLATFORMS = [*SHARE_PLATFORMS, Platform.QR, Platform.COPY, Platform.DIRECT]


def community_size() -> int:
    """`{community}`: the number of active members of the platform (a real count, cached for
    five minutes; computed when the cache is unreachable)."""
    try:
        size = cache.get(COMMUNITY_CACHE_KEY)
    except Exception:  # noqa: BLE001 - a cache outage must not break the share kit
        size = None
    if size is None:
        size = Partner.objects.active().count()
        try:
            cache.set(COMMUNITY_CACHE_KEY, size, COMMUNITY_CACHE_SECONDS)
        except Exception:  # noqa: BLE001, S110 - caching is an optimisation only
            pass
    return size


def _format_count(value: int, language: str) -> str:
    text = f"{value:,}"
    return text.replace(",", "\u00a0") if language == "ru" else text


def _format_usdt(value: Decimal, language: str) -> str:
    text = f"{value.quantize(Decimal('0.01'), rounding=ROUND_DOWN):,}"
    if language == "ru":
        text = text.replace(",", "\u00a0").replace(".", ",")
    return f"{text} USDT"


@dataclass(frozen=True)
class MemberFigures:
    """What a template may say about the member, from their real data; None = zero/unknown."""

    earnings: str | None
    referrals: str | None
    community: str | None


def member_share_figures(partner: Partner) -> MemberFigures:
    language = partner.language
    earned = usdt_balances(partner.pk).total_earned.quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    direct = partner_network_counts(partner)["direct_referrals"]
    community = community_size()
    return MemberFigures(
        earnings=_format_usdt(earned, language) if earned > 0 else None,
        referrals=_format_count(direct, language) if direct > 0 else None,
        community=_format_count(community, language) if community > 0 else None,
    )


def _active_templates(language: str) -> list[ShareTemplate]:
    return list(ShareTemplate.objects.filter(language=language, is_active=True).order_by("sort_order", "id"))


def _values(partner: Partner, figures: MemberFigures, link: str) -> dict[str, str | None]:
    return {
        "name": partner.display_name,
        "link": link,
        "earnings": figures.earnings,
        "referrals": figures.referrals,
        "community": figures.community,
    }


def _template_data(partner: Partner, template: ShareTemplate, figures: MemberFigures) -> dict:
    # A template written for one platform carries that platform's link (its clicks count there).
    link = links.web_link(partner.referral_code, template.platform or links.DIRECT)
    return {
        "id": template.pk,
        "platform": template.platform or None,
        "tone": template.tone,
        "language": template.language,
        "title": template.title,
        "text": template_render(template.body, _values(partner, figures, link)),
    }


def _platform_text(platform: str, templates: list[ShareTemplate], partner: Partner, figures: MemberFigures) -> str:
    """The text of a platform's share button: its first own template, else the first general
    one, filled without the link (the share URL carries the link itself)."""
    for wanted in (platform, ""):
        for template in templates:
            if template.platform == wanted:
                return template_render(template.body, _values(partner, figures, ""))
    return EMAIL_SUBJECT.get(partner.language, EMAIL_SUBJECT["en"])


def share_url(platform: str, *, text: str, link: str, subject: str) -> str:
    """The platform's share URL with the text and link URL-encoded (RFC 3986, spaces as %20)."""
    with_link = f"{text}\n{link}" if text else link

    def query(**params) -> str:
        return urlencode(params, quote_via=quote)

    match platform:
        case Platform.TELEGRAM:
            return f"https://t.me/share/url?{query(url=link, text=text)}"
        case Platform.WHATSAPP:
            return f"https://wa.me/?{query(text=with_link)}"
        case Platform.X:
            return f"https://x.com/intent/post?{query(text=text, url=link)}"
        case Platform.FACEBOOK:
            return f"https://www.facebook.com/sharer/sharer.php?{query(u=link)}"
        case Platform.LINKEDIN:
            return f"https://www.linkedin.com/sharing/share-offsite/?{query(url=link)}"
        case Platform.REDDIT:
            return f"https://www.reddit.com/submit?{query(url=link, title=text)}"
        case Platform.EMAIL:
            return f"mailto:?{query(subject=subject, body=with_link)}"
        case Platform.SMS:
            return f"sms:?&{query(body=with_link)}"
    raise ValueError(f"No share URL for {platform!r}")


def share_kit(partner: Partner) -> dict:
    """Everything a share page needs: the three links, a share URL per platform, the filled
    templates, the QR images' URLs and the link the QR code holds."""
    code = partner.referral_code
    figures = member_share_figures(partner)
    templates = _active_templates(partner.language)
    subject = EMAIL_SUBJECT.get(partner.language, EMAIL_SUBJECT["en"])
    platforms = []
    for platform in SHARE_PLATFORMS:
        link = links.web_link(code, platform)
        text = _platform_text(platform, templates, partner, figures)
        platforms.append(
            {
                "platform": platform.value,
                "label": platform.label,
                "link": link,
                "text": text,
                "url": share_url(platform, text=text, link=link, subject=subject),
            }
        )
    return {
        "referral_code": code,
        "links": {
            "bot": links.bot_link(code),
            "mini_app": links.mini_app_link(code),
            "web": links.web_link(code),
        },
        "platforms": platforms,
        "templates": [_template_data(partner, template, figures) for template in templates],
        "qr_link": links.web_link(code, Platform.QR),
        "qr_svg_url": settings.SITE_URL + reverse("share-qr", kwargs={"kind": "svg"}),
        "qr_png_url": settings.SITE_URL + reverse("share-qr", kwargs={"kind": "png"}),
    }


def _grouped(queryset, **aggregates) -> dict[str, dict]:
    rows = queryset.order_by().values("platform").annotate(**aggregates)
    return {row.pop("platform"): row for row in rows}


def share_funnel(*, partner: Partner | None = None, since: datetime | None = None, until: datetime | None = None):
    """Shares → clicks → signups → PRO purchases per platform, for one member's link (signups:
    their direct referrals) or, without `partner`, platform-wide. `clicks` counts clean clicks
    only (no bot user agent, not a repeat from one hashed IP within the hour); `clicks_total`
    keeps every recorded one. `pro_purchases` are completed PRO payments by the signups,
    `pro_members` the signups who bought at least once. Optional [since, until) on each event's
    own time (a purchase counts in the window it was completed in)."""

    def window(field: str) -> Q:
        condition = Q()
        if since is not None:
            condition &= Q(**{f"{field}__gte": since})
        if until is not None:
            condition &= Q(**{f"{field}__lt": until})
        return condition

    events = ShareEvent.objects.filter(window("created_at"))
    clicks = ShareClick.objects.filter(window("created_at"))
    signups = ReferralAttribution.objects.filter(window("created_at"))
    purchases = Payment.objects.filter(
        window("completed_at"), status=Payment.Status.COMPLETED, partner__referral_attribution__isnull=False
    )
    if partner is not None:
        events = events.filter(partner=partner)
        clicks = clicks.filter(referrer=partner)
        signups = signups.filter(referrer=partner)
        purchases = purchases.filter(partner__referral_attribution__referrer=partner)

    shares = _grouped(events, shares=Count("id"))
    click_rows = _grouped(clicks, clicks=Count("id", filter=Q(counted=True)), clicks_total=Count("id"))
    signup_rows = _grouped(signups, signups=Count("id"))
    purchase_rows = {
        row["partner__referral_attribution__platform"]: row
        for row in purchases.order_by()
        .values("partner__referral_attribution__platform")
        .annotate(pro_purchases=Count("id"), pro_members=Count("partner_id", distinct=True))
    }
    rows = []
    for platform in FUNNEL_PLATFORMS:
        clicks_row = click_rows.get(platform, {})
        purchase_row = purchase_rows.get(platform, {})
        rows.append(
            {
                "platform": platform.value,
                "label": platform.label,
                "shares": shares.get(platform, {}).get("shares", 0),
                "clicks": clicks_row.get("clicks", 0),
                "clicks_total": clicks_row.get("clicks_total", 0),
                "signups": signup_rows.get(platform, {}).get("signups", 0),
                "pro_purchases": purchase_row.get("pro_purchases", 0),
                "pro_members": purchase_row.get("pro_members", 0),
            }
        )
    return rows
