"""Hooks into partners' extension signals (wired in ReferralsConfig.ready()). The join itself is
no signal: `partners.services.partner_join` calls `referral_awards_for_join` directly."""

import logging

from django.core.cache import cache
from django.utils import timezone

from p2phub.middleware import current_request_context
from referrals.fraud import hash_value
from referrals.models import PartnerSighting
from referrals.services import sightings_record

logger = logging.getLogger(__name__)

_SIGHTING_TTL = 24 * 3600
# A plain read writes nothing: no database row, no cache key (the read paths' budget).
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def on_partner_authenticated(sender, *, partner, request, **kwargs):
    """Refresh the member's hashed IP / device sighting (fraud signals) at most once a day per
    value, on the member's actions only (POST and the other unsafe methods: check-ins, claims,
    shares, payments). Reads record nothing: the profile, leaderboards and dashboard pages stay
    free of writes, and the daily check-in, a member's most frequent action, keeps their
    sightings fresh for the 30-day window fraud scoring looks at (the signup records its own).

    The write is handed to Celery (`referrals.tasks.record_sighting`), so it costs the member's
    request no transaction of its own; the once-a-day gate is one cache round trip. Fraud scoring
    reads sightings when someone signs up under this member, seconds later at the earliest; a
    sighting a few seconds late changes nothing. Broker down: written here instead (best effort,
    like the rest of the sighting)."""
    if request.method in _READ_METHODS:
        return
    join_result = getattr(request, "partner_join_result", None)
    if join_result is not None and join_result.created:
        return  # the join itself just recorded this request's sighting
    context = current_request_context()
    ip_hash = hash_value(PartnerSighting.Kind.IP, context.ip)
    device_hash = hash_value(PartnerSighting.Kind.DEVICE, request.META.get("HTTP_X_DEVICE_FINGERPRINT", "")[:128])
    if not (ip_hash or device_hash):
        return
    now = timezone.now()
    key = f"referrals:seen:{partner.pk}:{now.date().isoformat()}:{ip_hash[:20]}:{device_hash[:20]}"
    try:
        if not cache.add(key, 1, _SIGHTING_TTL):
            return
    except Exception:  # noqa: BLE001 - the cache fails open (SPEC §14): Redis down costs a sighting, not the request
        logger.warning("Sighting cache unavailable; skipped the sighting of partner %s", partner.pk, exc_info=True)
        return
    from referrals.tasks import record_sighting

    arguments = {"partner_id": partner.pk, "ip_hash": ip_hash, "device_hash": device_hash, "seen_at": now.isoformat()}
    try:
        record_sighting.apply_async(kwargs=arguments, retry=False)
    except Exception:  # noqa: BLE001 - broker down: record it now rather than lose it
        logger.warning("Broker unavailable; recording the sighting of partner %s in the request", partner.pk, exc_info=True)
        try:
            sightings_record(partner_id=partner.pk, ip_hash=ip_hash, device_hash=device_hash, now=now)
        except Exception:  # noqa: BLE001 - fraud signals are best effort; the request must not fail
            logger.exception("Could not record a sighting for partner %s", partner.pk)
            try:
                cache.delete(key)
            except Exception:  # noqa: BLE001 - same fail-open rule as above
                logger.warning("Sighting cache unavailable; key %s not released", key, exc_info=True)
