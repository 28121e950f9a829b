"""Issue 8, defect 7: every service that changes leaderboard eligibility (fraud hold set at
signup or cleared by approval, ban/deactivate/reactivate, leaderboard opt-out / masked name)
syncs the boards explicitly after commit, also when it writes with `.update()`. Each path is
checked in database mode (the truth) and in Redis mode (must agree with it)."""

import itertools

import pytest

from partners.models import Partner
from partners.services import SignupContext, partner_join, partner_set_status, partner_update_preferences
from partners.tests.factories import PartnerFactory
from referrals.models import ReferralReview
from referrals.services import referral_review_approve, referral_review_reject
from rewards import leaderboards
from rewards.leaderboards.periods import BOARDS
from rewards.services import XPAward, xp_award

pytestmark = pytest.mark.django_db

IP = "198.51.100.23"
_ids = itertools.count(9_300_000_000)
_keys = itertools.count()


def _join(referrer, *, ip=IP):
    signup = SignupContext(ip=ip, user_agent="Mozilla/5.0 Telegram-Android/11.0", device_fingerprint="", channel="mini_app")
    return partner_join(referrer=referrer, telegram_id=next(_ids), signup=signup).partner


def _xp(partner, amount):
    xp_award(XPAward(partner_id=partner.pk, amount=amount, kind="correction", idempotency_key=f"elig:{next(_keys)}"))


def _boards(settings, backend, members):
    settings.LEADERBOARD_BACKEND = backend
    return {
        board: (
            leaderboards.leaderboard_top(board, limit=100),
            [leaderboards.leaderboard_rank(board, partner=m) for m in members],
        )
        for board in BOARDS
    }


def _xp_rank(settings, backend, member):
    settings.LEADERBOARD_BACKEND = backend
    return leaderboards.leaderboard_rank("xp", partner=member)["rank"]


@pytest.fixture
def held_member(committed):
    """A member held for review (same IP as their referrer) who then earns the most XP."""
    with committed():
        top = PartnerFactory()
        referrer = _join(top)
        member = _join(referrer)
        _xp(member, 1_000)
    member.refresh_from_db()
    assert member.fraud_hold is True
    return member, referrer, top


def _check_modes_agree(settings, members):
    database = _boards(settings, "database", members)
    if settings.REDIS_URL:
        assert _boards(settings, "redis", members) == database
    return database


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
def mode(request, settings):
    settings.LEADERBOARD_BACKEND = request.param
    return request.param


def test_a_member_held_at_signup_is_unranked_in_both_modes(settings, mode, held_member):
    member, referrer, top = held_member
    assert _xp_rank(settings, mode, member) is None
    assert _xp_rank(settings, "database", member) is None
    if mode == "redis":
        _check_modes_agree(settings, [member, referrer, top])


def test_approval_puts_the_member_back_on_the_boards_in_both_modes(settings, mode, held_member, committed, staff_user):
    member, referrer, top = held_member
    if mode == "redis":
        leaderboards.rebuild()  # Redis knows the member is excluded (as it would after any rebuild)
    settings.LEADERBOARD_BACKEND = mode
    review = ReferralReview.objects.get(new_member=member)
    with committed():
        referral_review_approve(review_id=review.pk, actor=staff_user)
    assert _xp_rank(settings, mode, member) == 1
    assert _xp_rank(settings, "database", member) == 1
    if mode == "redis":
        _check_modes_agree(settings, [member, referrer, top])


def test_rejection_keeps_the_member_off_the_boards_in_both_modes(settings, mode, held_member, committed, staff_user):
    member, referrer, top = held_member
    settings.LEADERBOARD_BACKEND = mode
    review = ReferralReview.objects.get(new_member=member)
    with committed():
        referral_review_reject(review_id=review.pk, actor=staff_user)
    assert _xp_rank(settings, mode, member) is None
    if mode == "redis":
        _check_modes_agree(settings, [member, referrer, top])


@pytest.mark.parametrize("status", [Partner.Status.BANNED, Partner.Status.DEACTIVATED])
def test_ban_and_deactivate_take_a_member_off_and_reactivation_back(settings, mode, committed, staff_user, status):
    settings.LEADERBOARD_BACKEND = mode
    leader, other = PartnerFactory(), PartnerFactory()
    with committed():
        _xp(leader, 500)
        _xp(other, 100)
    assert _xp_rank(settings, mode, leader) == 1
    with committed():
        partner_set_status(partner=leader, status=status, actor=staff_user, reason="test")
    assert _xp_rank(settings, mode, leader) is None
    assert _xp_rank(settings, mode, other) == 1
    if mode == "redis":
        _check_modes_agree(settings, [leader, other])
    settings.LEADERBOARD_BACKEND = mode
    with committed():
        partner_set_status(partner=leader, status=Partner.Status.ACTIVE, actor=staff_user, reason="test")
    assert _xp_rank(settings, mode, leader) == 1
    if mode == "redis":
        _check_modes_agree(settings, [leader, other])


def test_leaderboard_opt_out_and_back_in(settings, mode, committed):
    settings.LEADERBOARD_BACKEND = mode
    member, other = PartnerFactory(), PartnerFactory()
    with committed():
        _xp(member, 300)
        _xp(other, 100)
    with committed():
        partner_update_preferences(partner=member, leaderboard_visibility=Partner.LeaderboardVisibility.HIDDEN)
    assert _xp_rank(settings, mode, member) is None
    if mode == "redis":
        _check_modes_agree(settings, [member, other])
    settings.LEADERBOARD_BACKEND = mode
    with committed():
        partner_update_preferences(partner=member, leaderboard_visibility=Partner.LeaderboardVisibility.MASKED)
    assert _xp_rank(settings, mode, member) == 1
    if mode == "redis":
        database = _check_modes_agree(settings, [member, other])
        assert database["xp"][0][0]["partner_id"] == member.pk


def test_every_eligibility_service_syncs_after_commit_not_before(monkeypatch, committed, held_member, staff_user):
    """The explicit hook runs after commit, once per change, from each service (both modes call
    it; in database mode it is a no-op)."""
    from partners import eligibility

    calls = []
    monkeypatch.setattr(eligibility, "_listeners", [calls.append])
    member, referrer, top = held_member
    review = ReferralReview.objects.get(new_member=member)
    with committed() as callbacks:
        referral_review_approve(review_id=review.pk, actor=staff_user)
        assert calls == []  # not before commit
    assert calls == [member.pk] and callbacks
    calls.clear()
    with committed():
        partner_set_status(partner=top, status=Partner.Status.BANNED, actor=staff_user)
        partner_update_preferences(partner=referrer, leaderboard_visibility=Partner.LeaderboardVisibility.HIDDEN)
    assert calls == [top.pk, referrer.pk]
    calls.clear()
    with committed():
        newcomer = _join(referrer)  # same IP as the referrer: held at signup
    assert newcomer.pk in calls
