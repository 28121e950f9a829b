"""Fraud scoring (SPEC §2): points per signal, hold 31-70 for review, block 71+."""

import pytest

from audit.models import AuditLog, EventType
from partners.models import Partner
from partners.tests.factories import PartnerFactory
from referrals.fraud import hash_value, is_bot_user_agent
from referrals.models import PartnerSighting, ReferralReview
from rewards.models import XPEntry
from rewards.selectors import xp_balance

pytestmark = pytest.mark.django_db

IP = "203.0.113.77"


def test_same_ip_as_referrer_holds_every_award_for_review(join):
    top = PartnerFactory()
    referrer = join(top, ip=IP)
    member = join(referrer, ip=IP)
    review = ReferralReview.objects.get(new_member=member)
    assert review.status == ReferralReview.Status.PENDING
    assert review.score == 40 and review.reason_codes == "same_ip_as_referrer"
    assert review.awards == [
        {"partner_id": referrer.pk, "level": 1, "amount": 35},
        {"partner_id": top.pk, "level": 2, "amount": 10},
    ]
    assert not XPEntry.objects.filter(related_partner=member).exists()
    member.refresh_from_db()
    assert member.fraud_hold is True
    held = AuditLog.objects.filter(event_type=EventType.REFERRAL_AWARD_HELD, related_partner_id=member.pk)
    assert sorted(held.values_list("partner_id", "amount")) == sorted([(referrer.pk, 35), (top.pk, 10)])
    assert held.first().metadata["score"] == 40


def test_same_ip_and_device_blocks(join):
    referrer = join(PartnerFactory(), ip=IP, device="fp-1")
    member = join(referrer, ip=IP, device="fp-1")
    review = ReferralReview.objects.get(new_member=member)
    assert review.status == ReferralReview.Status.BLOCKED and review.score == 90
    assert not XPEntry.objects.filter(related_partner=member).exists()
    assert AuditLog.objects.filter(event_type=EventType.REFERRAL_AWARD_BLOCKED, partner_id=referrer.pk).exists()


def test_an_ip_shared_by_many_members_scores_low_and_pays(join, settings):
    settings.FRAUD_SHARED_IP_MIN_MEMBERS = 5
    for _ in range(5):
        join(None, ip=IP)  # strangers behind the same carrier NAT
    referrer = join(PartnerFactory(), ip=IP)
    member = join(referrer, ip=IP)
    assert not ReferralReview.objects.filter(new_member=member).exists()
    assert XPEntry.objects.get(partner=referrer, related_partner=member).metadata == {"fraud_score": 10}


def test_a_referrer_ip_seen_outside_the_window_does_not_count(join, settings):
    referrer = join(PartnerFactory(), ip=IP)
    PartnerSighting.objects.filter(partner=referrer).update(last_seen=referrer.joined_at.replace(year=2000))
    member = join(referrer, ip=IP)
    assert XPEntry.objects.filter(partner=referrer, related_partner=member).exists()


def test_bot_user_agent_alone_still_pays(join):
    referrer = PartnerFactory()
    member = join(referrer, user_agent="python-requests/2.32")
    assert xp_balance(referrer.pk) == 35
    assert XPEntry.objects.get(related_partner=member).metadata == {"fraud_score": 30}


def test_bot_user_agent_with_a_sub_second_burst_is_held(join):
    referrer = PartnerFactory()
    join(referrer)
    member = join(referrer, user_agent="curl/8.5.0")
    review = ReferralReview.objects.get(new_member=member)
    assert review.score == 50
    assert set(review.reason_codes.split(",")) == {"bot_user_agent", "sub_second_timing"}


def test_web_signup_finished_within_a_second_of_starting_scores_timing(join):
    referrer = PartnerFactory()
    import time

    member = join(referrer, channel="web", started_at=time.time())
    assert XPEntry.objects.get(related_partner=member).metadata == {"fraud_score": 20}


def test_score_is_capped_at_100(join, settings):
    settings.REFERRAL_HOURLY_LIMIT = 1
    referrer = join(PartnerFactory(), ip=IP, device="fp")
    join(referrer)
    member = join(referrer, ip=IP, device="fp", user_agent="HeadlessChrome")
    assert ReferralReview.objects.get(new_member=member).score == 100


def test_scoring_switched_off_pays_everything(join, settings):
    settings.FRAUD_SCORING_ENABLED = False
    referrer = join(PartnerFactory(), ip=IP, device="fp")
    join(referrer, ip=IP, device="fp", user_agent="curl/8")
    assert xp_balance(referrer.pk) == 35
    assert not ReferralReview.objects.exists()


def test_thresholds_come_from_settings(join, settings):
    settings.FRAUD_HOLD_ABOVE = 50
    referrer = join(PartnerFactory(), ip=IP)
    join(referrer, ip=IP)
    assert xp_balance(referrer.pk) == 35


def test_ips_and_fingerprints_are_stored_hashed(join):
    member = join(PartnerFactory(), ip=IP, device="device-secret")
    values = list(PartnerSighting.objects.filter(partner=member).values_list("kind", "value_hash"))
    assert sorted(values) == sorted([("ip", hash_value("ip", IP)), ("device", hash_value("device", "device-secret"))])
    assert all(IP not in value and "device-secret" not in value and len(value) == 64 for _, value in values)


@pytest.mark.parametrize(
    "agent,bot",
    [
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Telegram-iOS/10.0", False),
        ("", False),
        ("Googlebot/2.1 (+http://www.google.com/bot.html)", True),
        ("Mozilla/5.0 HeadlessChrome/120.0", True),
        ("python-requests/2.31", True),
    ],
)
def test_bot_user_agent_detection(agent, bot):
    assert is_bot_user_agent(agent) is bot


def _recorded_sightings(monkeypatch) -> list[dict]:
    """The sightings the receiver hands to Celery (eager here: the task runs and writes)."""
    import referrals.tasks as tasks

    calls = []
    original = tasks.sightings_record
    monkeypatch.setattr(tasks, "sightings_record", lambda **kw: calls.append(kw) or original(**kw))
    return calls


def test_member_actions_refresh_the_sighting_at_most_once_a_day(tma_client, monkeypatch):
    member = PartnerFactory()
    calls = _recorded_sightings(monkeypatch)
    client = tma_client(member)
    for _ in range(3):
        assert client.post("/api/v1/me/checkin/", REMOTE_ADDR=IP).status_code == 200
    assert len(calls) == 1
    assert PartnerSighting.objects.filter(partner=member, kind="ip", value_hash=hash_value("ip", IP)).exists()
    client.post("/api/v1/me/checkin/", REMOTE_ADDR="198.51.100.1")
    assert len(calls) == 2


def test_reads_record_no_sighting_and_write_nothing(tma_client, monkeypatch):
    """GET, HEAD and OPTIONS: no database write and no cache write (the read paths' budget)."""
    from django.core.cache import cache

    member = PartnerFactory()
    calls = _recorded_sightings(monkeypatch)
    gated = []
    original_add = cache.add
    monkeypatch.setattr(cache, "add", lambda key, *a, **k: gated.append(key) or original_add(key, *a, **k))
    client = tma_client(member)
    for method in (client.get, client.head, client.options):
        assert method("/api/v1/me/", REMOTE_ADDR=IP).status_code == 200
    assert calls == []
    assert [key for key in gated if key.startswith("referrals:seen")] == []
    assert not PartnerSighting.objects.filter(partner=member).exists()


def test_the_sighting_is_written_in_the_request_when_the_broker_is_down(tma_client, monkeypatch):
    import referrals.tasks as tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.record_sighting, "apply_async", broker_down)
    member = PartnerFactory()
    assert tma_client(member).post("/api/v1/me/checkin/", REMOTE_ADDR=IP).status_code == 200
    assert PartnerSighting.objects.filter(partner=member, kind="ip", value_hash=hash_value("ip", IP)).exists()


def test_first_request_records_the_signup_sighting_once(tma_client, monkeypatch):
    referrer = PartnerFactory()
    calls = _recorded_sightings(monkeypatch)
    response = tma_client(9_400_000_001, start_param=referrer.referral_code).get("/api/v1/me/", REMOTE_ADDR=IP)
    assert response.status_code == 200
    member = Partner.objects.get(telegram_id=9_400_000_001)
    assert calls == []  # the join wrote it, in its own transaction
    assert PartnerSighting.objects.filter(partner=member, kind="ip").count() == 1
