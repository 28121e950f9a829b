"""Velocity limit and fraud scoring of a signup (SPEC §2).

Every rule reads its points and thresholds from settings at call time. All lookups are a fixed
number of indexed reads, whatever the depth of the tree, and at signup they ride on the referral
engine's ancestors statement (`signup_lookups`):
- an aggregate over the referrer's signups of the last hour (the (referrer, joined_at) index);
- whether the referrer was seen on the new member's hashed IP / device;
- only when the IP matched, a bounded count of members seen on that IP (shared-NAT check).
"""

import hashlib
import hmac
import re
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Case, Count, Exists, Expression, IntegerField, Max, Subquery, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

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


def signup_lookups(member: Partner, signals: SignupSignals) -> dict[str, Expression]:
    """What `signup_assess` reads from the database, as scalar subqueries for the caller to
    annotate on a statement it runs anyway (the referral engine's ancestors query), so velocity
    and the referrer's sightings cost no statement of their own. Uncorrelated, so the database
    evaluates each once per statement, not once per row. Empty when nothing is scored.

    Velocity: signups under the referrer in the hour up to this one, and the joined_at of the one
    before. Siblings are inserted under the lock on the parent row (the join's numchild update),
    so their ids follow commit order: counting ids up to this member's is exact under
    concurrency and gives the same answer when a signup is reprocessed later.
    Sightings: has the referrer been seen (within the window) on this member's hashed IP, device,
    and, only if on the IP, is that IP a shared NAT (seen for many members)?"""
    limit = settings.REFERRAL_HOURLY_LIMIT
    scoring = settings.FRAUD_SCORING_ENABLED
    if member.referrer_id is None or (limit <= 0 and not scoring):
        return {}
    recent = (
        Partner.objects.filter(
            referrer_id=member.referrer_id,
            joined_at__gt=member.joined_at - timedelta(hours=1),
            pk__lt=member.pk,
        )
        .order_by()
        .values("referrer_id")
    )
    lookups: dict[str, Expression] = {
        "fraud_signups_before": Coalesce(
            Subquery(recent.annotate(n=Count("id")).values("n")[:1]), Value(0), output_field=IntegerField()
        ),
        "fraud_previous_joined": Subquery(recent.annotate(latest=Max("joined_at")).values("latest")[:1]),
    }
    if scoring:
        since = member.joined_at - timedelta(days=settings.FRAUD_IP_WINDOW_DAYS)
        seen = PartnerSighting.objects.filter(partner_id=member.referrer_id, last_seen__gte=since)
        if signals.ip_hash:
            referrer_on_ip = Exists(seen.filter(kind=PartnerSighting.Kind.IP, value_hash=signals.ip_hash))
            lookups["fraud_shared_ip"] = referrer_on_ip
            # Only when the referrer was seen on it (CASE evaluates it lazily): how many other
            # members the IP was seen for, counted up to the threshold (a NAT costs no more).
            lookups["fraud_ip_members"] = Case(
                When(referrer_on_ip, then=_ip_members(member, signals.ip_hash, since)),
                default=Value(0),
                output_field=IntegerField(),
            )
        if signals.device_hash:
            lookups["fraud_shared_device"] = Exists(
                seen.filter(kind=PartnerSighting.Kind.DEVICE, value_hash=signals.device_hash)
            )
    return lookups


def _ip_members(member: Partner, ip_hash: str, since) -> RawSQL:
    """Members other than this one seen on the IP in the window, counted up to
    FRAUD_SHARED_IP_MIN_MEMBERS (the `sighting_value_recent` index, at most that many entries)."""
    table = connection.ops.quote_name(PartnerSighting._meta.db_table)
    return RawSQL(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE kind = %s AND value_hash = %s AND last_seen >= %s "
        "AND partner_id <> %s LIMIT %s) AS seen",
        [
            PartnerSighting.Kind.IP.value,
            ip_hash,
            connection.ops.adapt_datetimefield_value(since),
            member.pk,
            settings.FRAUD_SHARED_IP_MIN_MEMBERS,
        ],
        output_field=IntegerField(),
    )


def _looked_up(member: Partner, signals: SignupSignals) -> dict:
    """The lookups in a statement of their own (callers without a statement to carry them)."""
    lookups = signup_lookups(member, signals)
    if not lookups:
        return {}
    return Partner.objects.filter(pk=member.referrer_id).order_by().annotate(**lookups).values(*lookups).first() or {}


def is_bot_user_agent(user_agent: str) -> bool:
    return bool(user_agent and _BOT_USER_AGENT.search(user_agent))


def signup_assess(member: Partner, signals: SignupSignals, *, looked_up: dict | None = None) -> Assessment:
    """Velocity (SPEC §2: over REFERRAL_HOURLY_LIMIT the L1 award is withheld) and the fraud
    score with its decision: 0..FRAUD_HOLD_ABOVE pay, ..FRAUD_BLOCK_ABOVE hold, above block.

    `looked_up`: the values of `signup_lookups` as the caller's statement returned them (else
    they are read here, in one statement)."""
    assessment = Assessment()
    limit = settings.REFERRAL_HOURLY_LIMIT
    scoring = settings.FRAUD_SCORING_ENABLED
    if member.referrer_id is None or (limit <= 0 and not scoring):
        return assessment
    if looked_up is None:
        looked_up = _looked_up(member, signals)
    count, previous = (looked_up.get("fraud_signups_before") or 0) + 1, looked_up.get("fraud_previous_joined")
    assessment.signups_in_hour = count
    assessment.velocity_exceeded = limit > 0 and count > limit
    if not scoring:
        return assessment

    points = settings.FRAUD_POINTS
    if looked_up.get("fraud_shared_ip"):
        if looked_up["fraud_ip_members"] >= settings.FRAUD_SHARED_IP_MIN_MEMBERS:
            assessment.add("shared_ip_as_referrer", points["shared_ip_as_referrer"])
        else:
            assessment.add("same_ip_as_referrer", points["same_ip_as_referrer"])
    if looked_up.get("fraud_shared_device"):
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
