"""State changes of sharing and attribution (SPEC §10): link clicks, share events and the
attribution of a signup. Reads (the share kit, the funnel) are in referrals.selectors."""

import re
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from partners.links import DIRECT, ReferralRef, parse_referral_ref, platform_from_value
from partners.models import Partner
from referrals.fraud import hash_value, is_bot_user_agent
from referrals.models import PartnerSighting, Platform, ReferralAttribution, ShareClick, ShareEvent

# Link-preview fetchers of messengers and social networks that the automation signatures of
# referrals.fraud do not name (TelegramBot, Twitterbot, LinkedInBot, Slackbot... already match).
_LINK_PREVIEW_AGENT = re.compile(
    r"facebookexternalhit|facebot|^whatsapp/|vkshare|skypeuripreview|iframely|embedly", re.I
)
# A second click on one link from one hashed IP within this window is kept but not counted.
CLICK_DEDUPE_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class ClickResult:
    ref: ReferralRef  # the code and platform to attribute to (empty code: unknown, no attribution)
    click: ShareClick | None = None


def share_click_record(
    *, code: str, platform: str | None = None, ip: str | None = None, user_agent: str = "", now=None
) -> ClickResult:
    """`GET /r/<code>`: record a click on a known code's link. The platform is the `?p=` value
    when it names one, else the code's own tag. Unknown or malformed codes record nothing.

    Three statements: the code's member, the "counted click from this IP in the last hour"
    probe (one index range), the insert. Two simultaneous first clicks from one IP may both
    count; the window is a filter against refresh-spam, not a lock."""
    ref = parse_referral_ref(code)
    if not ref.code:
        return ClickResult(ref=ReferralRef())
    referrer_id = Partner.objects.filter(referral_code=ref.code).values_list("pk", flat=True).first()
    if referrer_id is None:
        return ClickResult(ref=ReferralRef())
    chosen = platform_from_value(platform)
    if chosen != DIRECT:
        ref = ReferralRef(code=ref.code, platform=chosen)
    now = now or timezone.now()
    user_agent = (user_agent or "")[:512]
    ip_hash = hash_value(PartnerSighting.Kind.IP, ip)
    is_bot = is_bot_user_agent(user_agent) or bool(_LINK_PREVIEW_AGENT.search(user_agent))
    counted = not is_bot and not (
        ip_hash
        and ShareClick.objects.filter(
            referrer_id=referrer_id, ip_hash=ip_hash, created_at__gt=now - CLICK_DEDUPE_WINDOW, counted=True
        ).exists()
    )
    click = ShareClick.objects.create(
        referrer_id=referrer_id,
        platform=ref.platform,
        ip_hash=ip_hash,
        user_agent=user_agent,
        is_bot=is_bot,
        counted=counted,
        created_at=now,
    )
    return ClickResult(ref=ref, click=click)


def share_event_record(*, partner: Partner, platform: str) -> ShareEvent:
    """The member used a share button (or copied the link, or showed the QR code)."""
    return ShareEvent.objects.create(partner=partner, platform=platform)


def referral_attribution_row(*, partner: Partner, signup=None) -> ReferralAttribution:
    """The attribution of a member who joined under a referrer (unsaved): which platform (from
    the code's tag or SignupContext.platform) and channel. The signup's referral step writes it
    in the join transaction, in one statement with the member's sighting."""
    platform = getattr(signup, "platform", "") or DIRECT
    if platform not in Platform.values:
        platform = platform_from_value(platform)
    return ReferralAttribution(
        new_member=partner,
        referrer_id=partner.referrer_id,
        platform=platform,
        channel=(getattr(signup, "channel", "") or "")[:16],
        created_at=partner.joined_at,
    )


def referral_attribution_record(*, partner: Partner, signup=None) -> ReferralAttribution:
    """`referral_attribution_row`, saved on its own (the join's isolated path)."""
    row = referral_attribution_row(partner=partner, signup=signup)
    row.save(force_insert=True)
    return row
