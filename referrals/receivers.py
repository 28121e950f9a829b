"""Hooks into partners' extension signals (wired in ReferralsConfig.ready()). The join itself is
no signal: `partners.services.partner_join` calls `referral_awards_for_join` directly."""

import logging

from django.core.cache import cache
from django.db import DatabaseError
from django.utils import timezone

from p2phub.middleware import current_request_context
from referrals.fraud import hash_value
from referrals.models import PartnerSighting
from referrals.services import sightings_record

logger = logging.getLogger(__name__)

_SIGHTING_TTL = 24 * 3600


def on_partner_authenticated(sender, *, partner, request, **kwargs):
    """Refresh the member's hashed IP / device sighting at most once a day per value: the cache
    key makes the steady-state cost one cache round trip and no database write."""
    join_result = getattr(request, "partner_join_result", None)
    if join_result is not None and join_result.created:
        return  # the join itself just recorded this request's sighting
    context = current_request_context()
    ip_hash = hash_value(PartnerSighting.Kind.IP, context.ip)
    device_hash = hash_value(PartnerSighting.Kind.DEVICE, request.META.get("HTTP_X_DEVICE_FINGERPRINT", "")[:128])
    if not (ip_hash or device_hash):
        return
    today = timezone.now().date().isoformat()
    key = f"referrals:seen:{partner.pk}:{today}:{ip_hash[:20]}:{device_hash[:20]}"
    try:
        if not cache.add(key, 1, _SIGHTING_TTL):
            return
    except Exception:  # noqa: BLE001 - the cache fails open (SPEC §14): Redis down costs a sighting, not the request
        logger.warning("Sighting cache unavailable; skipped the sighting of partner %s", partner.pk, exc_info=True)
        return
    try:
        sightings_record(partner_id=partner.pk, ip_hash=ip_hash, device_hash=device_hash)
    except DatabaseError:
        # Fraud signals are best effort; the member's request must not fail because of them.
        logger.exception("Could not record a sighting for partner %s", partner.pk)
        try:
            cache.delete(key)
        except Exception:  # noqa: BLE001 - same fail-open rule as above
            logger.warning("Sighting cache unavailable; key %s not released", key, exc_info=True)
