"""Referral XP on join (SPEC §2): amounts by level, PRO x5, depth bound, exactly once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.chain import audit_chain_verify
from audit.models import AuditLog, EventType
from partners.models import Partner
from partners.services import partner_set_status
from partners.tests.factories import PartnerFactory, make_chain, make_pro
from referrals.models import ReferralAwardRetry
from referrals.services import referral_awards_reprocess
from rewards.models import XPEntry
from rewards.selectors import xp_balance, xp_balances, xp_ledger_sum
from rewards.services import xp_fold_all

pytestmark = pytest.mark.django_db


def _xp(partners):
    balances = xp_balances([p.pk for p in partners])
    return [balances[p.pk] for p in partners]


def test_direct_referrer_gets_35():
    referrer = PartnerFactory()
    PartnerFactory(referrer=referrer)
    assert xp_balance(referrer.pk) == 35


def test_pro_direct_referrer_gets_175():
    referrer = PartnerFactory(pro=True)
    PartnerFactory(referrer=referrer)
    assert xp_balance(referrer.pk) == 175


def test_expired_pro_earns_base_amount():
    referrer = PartnerFactory()
    make_pro(referrer, days=-1)
    PartnerFactory(referrer=referrer)
    assert xp_balance(referrer.pk) == 35


def test_nine_chain_pays_35_10_then_1_from_l1_up():
    chain = make_chain(9)
    newcomer = PartnerFactory(referrer=chain[-1])
    upline = list(reversed(chain))  # L1 first
    # Each chain member also earned from the members joining below it while the chain was built.
    before = {p.pk: xp for p, xp in zip(upline, _xp(upline), strict=True)}
    earned = list(
        XPEntry.objects.filter(related_partner=newcomer).order_by("level").values_list("partner_id", "level", "amount")
    )
    amounts = [35, 10, 1, 1, 1, 1, 1, 1, 1]
    assert earned == [(p.pk, level, amount) for level, (p, amount) in enumerate(zip(upline, amounts, strict=True), start=1)]
    assert sum(amount for _, _, amount in earned) == 52
    assert before == {p.pk: xp_ledger_sum(p.pk) for p in upline}


def test_all_pro_nine_chain_pays_175_50_then_5_total_260():
    chain = make_chain(9, pro=True)
    newcomer = PartnerFactory(referrer=chain[-1])
    amounts = list(XPEntry.objects.filter(related_partner=newcomer).order_by("level").values_list("amount", flat=True))
    assert amounts == [175, 50, 5, 5, 5, 5, 5, 5, 5]
    assert sum(amounts) == 260


def test_ten_chain_root_gets_nothing():
    chain = make_chain(10)
    root = chain[0]
    before = xp_balance(root.pk)
    newcomer = PartnerFactory(referrer=chain[-1])  # the root is its L10
    assert not XPEntry.objects.filter(partner=root, related_partner=newcomer).exists()
    assert XPEntry.objects.filter(related_partner=newcomer).count() == 9
    assert xp_balance(root.pk) == before == 35 + 10 + 7 * 1  # earned from its nine nearest levels only


def test_same_join_processed_twice_pays_once():
    chain = make_chain(3)
    newcomer = PartnerFactory(referrer=chain[-1])
    assert referral_awards_reprocess(new_member_id=newcomer.pk) == []
    assert referral_awards_reprocess(new_member_id=newcomer.pk) == []
    assert XPEntry.objects.filter(related_partner=newcomer).count() == 3
    assert _xp(chain) == [35 + 10 + 1, 35 + 10, 35]


def test_reprocess_pays_awards_missing_from_the_ledger(monkeypatch):
    referrer = PartnerFactory()
    monkeypatch.setattr("referrals.services.referral_awards_process", lambda *a, **k: [])
    newcomer = PartnerFactory(referrer=referrer)
    monkeypatch.undo()
    assert xp_balance(referrer.pk) == 0
    referral_awards_reprocess(new_member_id=newcomer.pk)
    assert xp_balance(referrer.pk) == 35
    assert AuditLog.objects.filter(event_type=EventType.XP_AWARDED, related_partner_id=newcomer.pk).count() == 1


def test_banned_and_deactivated_ancestors_are_skipped_others_paid(staff_user):
    chain = make_chain(3)
    partner_set_status(partner=chain[1], status=Partner.Status.BANNED, actor=staff_user)
    partner_set_status(partner=chain[0], status=Partner.Status.DEACTIVATED, actor=staff_user)
    newcomer = PartnerFactory(referrer=chain[2])
    levels = dict(XPEntry.objects.filter(related_partner=newcomer).values_list("partner_id", "level"))
    assert levels == {chain[2].pk: 1}


def test_failing_award_for_one_ancestor_does_not_stop_the_others(monkeypatch):
    chain = make_chain(3)
    monkeypatch.setattr("referrals.services.referral_awards_process", lambda *a, **k: [])
    newcomer = PartnerFactory(referrer=chain[2])
    monkeypatch.undo()
    # A row already pairing L2 with the newcomer under another key: L2's insert hits the
    # (recipient, new member) unique constraint; L1 and L3 must still be paid.
    XPEntry.objects.create(
        partner=chain[1], related_partner=newcomer, amount=3, kind="referral", idempotency_key="manual:conflict"
    )
    referral_awards_reprocess(new_member_id=newcomer.pk)
    paid = dict(XPEntry.objects.filter(related_partner=newcomer).values_list("partner_id", "amount"))
    assert paid == {chain[2].pk: 35, chain[1].pk: 3, chain[0].pk: 1}


def test_award_step_error_keeps_the_signup_and_queues_a_retry(monkeypatch):
    referrer = PartnerFactory()

    def broken(*args, **kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr("referrals.services.xp_award_many", broken)
    newcomer = PartnerFactory(referrer=referrer)
    retry = ReferralAwardRetry.objects.get(new_member=newcomer)
    assert retry.done_at is None and "database hiccup" in retry.last_error
    assert xp_balance(referrer.pk) == 0
    # The join itself was audited; the failed step left nothing behind.
    assert AuditLog.objects.filter(event_type=EventType.PARTNER_JOINED, partner_id=newcomer.pk).exists()

    monkeypatch.undo()
    from referrals.tasks import retry_due_referral_awards

    assert retry_due_referral_awards() == 1
    assert xp_balance(referrer.pk) == 35
    retry.refresh_from_db()
    assert retry.done_at is not None
    assert retry_due_referral_awards() == 0
    assert xp_balance(referrer.pk) == 35


def test_failed_retry_backs_off(monkeypatch):
    from referrals.services import referral_awards_retry

    referrer = PartnerFactory()
    monkeypatch.setattr("referrals.services.xp_award_many", lambda *a, **k: 1 / 0)
    newcomer = PartnerFactory(referrer=referrer)
    retry = ReferralAwardRetry.objects.get(new_member=newcomer)
    assert referral_awards_retry(retry.pk) is False
    retry.refresh_from_db()
    assert retry.attempts == 2 and retry.next_attempt_at > retry.created_at
    assert "ZeroDivisionError" in retry.last_error


def test_awards_are_audited_in_the_join_transaction_and_chain_verifies():
    chain = make_chain(2)
    newcomer = PartnerFactory(referrer=chain[-1])
    rows = AuditLog.objects.filter(event_type=EventType.XP_AWARDED, related_partner_id=newcomer.pk)
    assert sorted(rows.values_list("partner_id", "amount")) == sorted([(chain[1].pk, 35), (chain[0].pk, 10)])
    assert all(row.currency == "XP" and row.metadata["level"] in (1, 2) for row in rows)
    assert audit_chain_verify().ok


def test_balance_equals_ledger_sum_before_and_after_folding():
    chain = make_chain(4)
    for _ in range(3):
        PartnerFactory(referrer=chain[-1])
    before = _xp(chain)
    assert before == [xp_ledger_sum(p.pk) for p in chain]
    xp_fold_all()
    assert _xp(chain) == before


def _signup_queries(referrer) -> int:
    with CaptureQueriesContext(connection) as captured:
        PartnerFactory(referrer=referrer)
    return len(captured)


def test_queries_per_signup_are_the_same_at_depth_9_and_60():
    # Separate chains, so no ancestor levels up during the measured signups (a level-up adds a
    # notification insert, which depends on the data, not on the depth).
    deep, shallow = make_chain(60), make_chain(9)
    # Warm both referrers once so both have children (treebeard reads the last child).
    PartnerFactory(referrer=shallow[-1])
    PartnerFactory(referrer=deep[-1])
    assert _signup_queries(shallow[-1]) == _signup_queries(deep[-1])


def test_me_profile_shows_xp_level_and_rank(tma_client):
    referrer = PartnerFactory(pro=True)
    for _ in range(3):
        PartnerFactory(referrer=referrer)
    body = tma_client(referrer).get("/api/v1/me/").json()
    assert body["xp"] == 525
    assert body["xp_level"] == 3 and body["rank"] == "Novice"
    assert body["xp_for_next_level"] == 600


def test_signup_through_the_mini_app_pays_the_referrer(tma_client):
    referrer = PartnerFactory()
    response = tma_client(9_300_000_001, start_param=referrer.referral_code.lower()).get(
        "/api/v1/me/", HTTP_USER_AGENT="Mozilla/5.0 Telegram-Android", REMOTE_ADDR="203.0.113.9"
    )
    assert response.status_code == 200
    newcomer = Partner.objects.get(telegram_id=9_300_000_001)
    assert newcomer.referrer_id == referrer.pk
    assert xp_balance(referrer.pk) == 35
