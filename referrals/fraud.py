"""Velocity limit and fraud scoring of a signup (SPEC §2).

Every rule reads its points and thresholds from settings at call time. All lookups are a fixed
number of indexed queries, whatever the depth of the tree:
- one aggregate over the referrer's signups of the last hour (the (referrer, joined_at) index);
- one lookup of the referrer's sightings matching the new member's hashed IP / device;
- only when the IP matched, one bounded count of members seen on that IP (shared-NAT check).
"""

import hashlib
import hmac
import re
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Max, Q

from partners.models import Partner
from referrals.models import PartnerSighting

PAY, HOLD, BLOCK = "pay", "hold", "block"

# Automation signatures only: an absent user agent is not scored, because privacy proxies
# strip it and real Telegram clients always send one anyway.
_BOT_USER_AGENT = re.compile(
    r"bot\b|crawl|spider|scrap|curl/|wget/|python-requests|python-urllib|aiohttp|httpx|"
    r"go-http-client|okhttp|java/|libwww|headless|phantomjs|selenium|puppeteer|playwright|postman",
    re.IGNORECASE,
)
# Channels whose client reports when the signup flow began with sub-second precision.
_CLIENT_TIMED_CHANNELS = {"web"}
_SUB_SECOND = timedelta(seconds=1)


def hash_value(kind: str, value: str | None) -> str:
    """HMAC-SHA256 of an IP or fingerprint with IP_HASH_SALT; "" for no value."""
    if not value:
        return ""
    key = settings.IP_HASH_SALT.encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SignupSignals:
    """What fraud scoring needs from the signup request, with IP and device already hashed."""

    ip_hash: str = ""
    device_hash: str = ""
    user_agent: str = ""
    channel: str = ""
    client_started_at: float | None = None

    @classmethod
    def from_signup(cls, signup) -> "SignupSignals":
        if signup is None:
            return cls()
        return cls(
            ip_hash=hash_value(PartnerSighting.Kind.IP, signup.ip),
            device_hash=hash_value(PartnerSighting.Kind.DEVICE, signup.device_fingerprint),
            user_agent=(signup.user_agent or "")[:512],
            channel=signup.channel or "",
            client_started_at=signup.client_started_at,
        )

    @classmethod
    def from_dict(cls, data: dict | None) -> "SignupSignals":
        data = data or {}
        return cls(**{key: data.get(key, default) for key, default in asdict(cls()).items()})

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Assessment:
    score: int = 0
    reasons: list[dict] = field(default_factory=list)
    velocity_exceeded: bool = False
    signups_in_hour: int = 0
    decision: str = PAY

    @property
    def reason_codes(self) -> list[str]:
        return [reason["code"] for reason in self.reasons]

    def add(self, code: str, points: int) -> None:
        if points:
            self.reasons.append({"code": code, "points": points})


def _referrer_recent_signups(member: Partner) -> tuple[int, object]:
    """(signups under the referrer in the hour up to and including this one, the joined_at of
    the one before). Siblings are inserted under treebeard's lock on the parent row, so their
    ids follow commit order: counting ids up to this member's is exact under concurrency and
    gives the same answer when a signup is reprocessed later."""
    row = (
        Partner.objects.filter(
            referrer_id=member.referrer_id,
            joined_at__gt=member.joined_at - timedelta(hours=1),
            pk__lt=member.pk,
        )
        .order_by()
        .aggregate(before=Count("id"), previous=Max("joined_at"))
    )
    return row["before"] + 1, row["previous"]


def _referrer_shared_signals(member: Partner, signals: SignupSignals) -> set[str]:
    since = member.joined_at - timedelta(days=settings.FRAUD_IP_WINDOW_DAYS)
    match = Q()
    if signals.ip_hash:
        match |= Q(kind=PartnerSighting.Kind.IP, value_hash=signals.ip_hash)
    if signals.device_hash:
        match |= Q(kind=PartnerSighting.Kind.DEVICE, value_hash=signals.device_hash)
    return set(
        PartnerSighting.objects.filter(match, partner_id=member.referrer_id, last_seen__gte=since).values_list(
            "kind", flat=True
        )
    )


def _ip_is_shared(member: Partner, ip_hash: str) -> bool:
    """An IP seen for many distinct members in the window is a carrier or office NAT. The count
    stops at the threshold, so a very busy IP costs no more than a quiet one."""
    minimum = settings.FRAUD_SHARED_IP_MIN_MEMBERS
    since = member.joined_at - timedelta(days=settings.FRAUD_IP_WINDOW_DAYS)
    seen = PartnerSighting.objects.filter(
        kind=PartnerSighting.Kind.IP, value_hash=ip_hash, last_seen__gte=since
    ).exclude(partner_id=member.pk)
    return seen.values("id")[:minimum].count() >= minimum


def is_bot_user_agent(user_agent: str) -> bool:
    return bool(user_agent and _BOT_USER_AGENT.search(user_agent))


def signup_assess(member: Partner, signals: SignupSignals) -> Assessment:
    """Velocity (SPEC §2: over REFERRAL_HOURLY_LIMIT the L1 award is withheld) and the fraud
    score with its decision: 0..FRAUD_HOLD_ABOVE pay, ..FRAUD_BLOCK_ABOVE hold, above block."""
    assessment = Assessment()
    limit = settings.REFERRAL_HOURLY_LIMIT
    scoring = settings.FRAUD_SCORING_ENABLED
    if member.referrer_id is None or (limit <= 0 and not scoring):
        return assessment
    count, previous = _referrer_recent_signups(member)
    assessment.signups_in_hour = count
    assessment.velocity_exceeded = limit > 0 and count > limit
    if not scoring:
        return assessment

    points = settings.FRAUD_POINTS
    shared = _referrer_shared_signals(member, signals) if (signals.ip_hash or signals.device_hash) else set()
    if PartnerSighting.Kind.IP in shared:
        if _ip_is_shared(member, signals.ip_hash):
            assessment.add("shared_ip_as_referrer", points["shared_ip_as_referrer"])
        else:
            assessment.add("same_ip_as_referrer", points["same_ip_as_referrer"])
    if PartnerSighting.Kind.DEVICE in shared:
        assessment.add("same_device_as_referrer", points["same_device_as_referrer"])
    if is_bot_user_agent(signals.user_agent):
        assessment.add("bot_user_agent", points["bot_user_agent"])
    if assessment.velocity_exceeded:
        assessment.add("referrer_velocity", points["referrer_velocity"])
    burst = previous is not None and abs(member.joined_at - previous) < _SUB_SECOND
    client_rushed = (
        signals.channel in _CLIENT_TIMED_CHANNELS
        and signals.client_started_at is not None
        and 0 <= member.joined_at.timestamp() - signals.client_started_at < 1
    )
    if burst or client_rushed:
        assessment.add("sub_second_timing", points["sub_second_timing"])

    assessment.score = min(100, sum(reason["points"] for reason in assessment.reasons))
    if assessment.score > settings.FRAUD_BLOCK_ABOVE:
        assessment.decision = BLOCK
    elif assessment.score > settings.FRAUD_HOLD_ABOVE:
        assessment.decision = HOLD
    return assessment
