"""Daily check-in (SPEC §5): the service behind `POST /api/v1/me/checkin/` and the dashboard
button, plus the streak fields of the profile."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import EventType
from audit.services import AuditEntry, audit_record_many
from partners.member_cache import EXPIRES_AT, member_changed
from partners.models import Partner
from partners.notifications import Kind, notification_create
from rewards import leaderboards
from rewards.leaderboards.periods import utc_day
from rewards.models import Badge, CheckIn, Streak, XPEntry
from rewards.services.xp import XPAward, xp_award_many
from rewards.streaks import badges_for_streak, checkin_xp, freeze_available, live_streak, next_streak


@dataclass
class CheckInResult:
    awarded_xp: int
    streak: int
    bonus_xp: int
    already_checked_in: bool
    day: date
    longest_streak: int
    freeze_used: bool = False
    badges_earned: list[str] = field(default_factory=list)


def _used_freeze_weeks(partner_id: int) -> set[str]:
    return set(
        CheckIn.objects.filter(partner_id=partner_id, freeze_week__isnull=False).values_list("freeze_week", flat=True)
    )


def checkin_record(*, partner: Partner, now: datetime | None = None) -> CheckInResult:
    """Check the member in for the current UTC day. Idempotent per day: a second call (or 50
    concurrent ones) awards nothing and reports `already_checked_in`."""
    now = now or timezone.now()
    today = utc_day(now)
    with transaction.atomic():
        # Lock this member's streak row: their own concurrent check-ins queue here, nobody
        # else's do. The row is created first so there is always something to lock.
        Streak.objects.bulk_create([Streak(partner_id=partner.pk)], ignore_conflicts=True)
        state = Streak.objects.select_for_update().get(partner_id=partner.pk)
        existing = CheckIn.objects.filter(partner_id=partner.pk, day=today).first()
        if existing:
            return _already(existing, state)
        is_pro = partner.pro_active_at(now)  # as loaded by the caller for this request
        step = next_streak(
            previous_day=state.last_checkin_date, previous_streak=state.current, today=today,
            is_pro=is_pro, used_freeze_weeks=_used_freeze_weeks(partner.pk) if is_pro else set(),
        )
        xp, bonus = checkin_xp(step.streak, is_pro=is_pro)
        checkin = CheckIn(
            partner_id=partner.pk, day=today, streak=step.streak, xp=xp, bonus_xp=bonus,
            was_pro=is_pro, freeze_week=step.freeze_week, created_at=now,
        )
        try:
            with transaction.atomic():
                checkin.save(force_insert=True)
        except IntegrityError:
            # The constraint is the last word (e.g. on a database without row locks).
            return _already(CheckIn.objects.get(partner_id=partner.pk, day=today), state)
        state.current = step.streak
        state.longest = max(state.longest, step.streak)
        state.last_checkin_date = today
        state.last_checkin_at = now
        state.save()
        member_changed([partner.pk])  # the streak and, past a milestone, the badges
        award = xp_award_many(
            [
                XPAward(
                    partner_id=partner.pk, amount=xp, kind=XPEntry.Kind.CHECKIN,
                    idempotency_key=f"checkin:{partner.pk}:{today.isoformat()}",
                    metadata={"day": today.isoformat(), "streak": step.streak, "bonus_xp": bonus,
                              "pro": is_pro, "freeze_week": step.freeze_week},
                    audit_event=EventType.CHECKIN,
                )
            ],
            keys_are_new=True,  # the CheckIn row of today was just inserted
        )
        earned, badge_audit = _award_badges(partner.pk, step.streak, now)
        audit_record_many(award.audit_entries + badge_audit)
        transaction.on_commit(lambda: leaderboards.record_streak(partner.pk, step.streak, today, now), robust=True)
    return CheckInResult(
        awarded_xp=xp, streak=step.streak, bonus_xp=bonus, already_checked_in=False, day=today,
        longest_streak=state.longest, freeze_used=step.freeze_week is not None, badges_earned=earned,
    )


def _already(checkin: CheckIn, state: Streak) -> CheckInResult:
    return CheckInResult(
        awarded_xp=0, streak=checkin.streak, bonus_xp=0, already_checked_in=True, day=checkin.day,
        longest_streak=state.longest, freeze_used=checkin.freeze_week is not None,
    )


def _award_badges(partner_id: int, streak: int, now) -> tuple[list[str], list[AuditEntry]]:
    codes = badges_for_streak(streak)
    if not codes:
        return [], []
    have = set(Badge.objects.filter(partner_id=partner_id, code__in=codes).values_list("code", flat=True))
    earned, audit = [], []
    for code in codes:
        if code in have:
            continue
        try:
            with transaction.atomic():
                Badge.objects.create(partner_id=partner_id, code=code, earned_at=now)
        except IntegrityError:
            continue
        label = Badge.Code(code).label if code in Badge.Code.values else code
        notification_create(
            partner_id=partner_id, kind=Kind.BADGE_EARNED, params={"badge": label, "streak": streak},
            data={"badge": code, "streak": streak}, dedupe_key=f"badge:{partner_id}:{code}",
        )
        audit.append(AuditEntry(EventType.BADGE_EARNED, partner_id=partner_id, metadata={"badge": code, "streak": streak}))
        earned.append(code)
    return earned, audit


def streak_profile_fields(partner: Partner, *, new_member: bool = False) -> dict:
    """checkin_streak (0 once the streak can no longer be continued), last_checkin_date,
    longest streak, freeze availability and badges: two queries (three for PRO members).
    True until the next UTC midnight, or until the PRO period ends if that comes first."""
    now = timezone.now()
    today = utc_day(now)
    state = None if new_member else Streak.objects.filter(partner_id=partner.pk).first()
    is_pro = partner.pro_active_at(now)
    last_day = state.last_checkin_date if state else None
    weeks = _used_freeze_weeks(partner.pk) if is_pro and last_day and (today - last_day).days == 2 else set()
    expires_at = datetime.combine(today + timedelta(days=1), time.min, tzinfo=UTC)
    if is_pro and partner.pro_expires_at:
        expires_at = min(expires_at, partner.pro_expires_at)
    current = live_streak(
        previous_day=last_day, previous_streak=state.current if state else 0, today=today,
        is_pro=is_pro, used_freeze_weeks=weeks,
    )
    badges = [
        {"code": b.code, "name": Badge.Code(b.code).label if b.code in Badge.Code.values else b.code, "earned_at": b.earned_at.isoformat()}
        for b in ([] if new_member else Badge.objects.filter(partner_id=partner.pk).order_by("earned_at", "id"))
    ]
    return {
        "checkin_streak": current,
        "last_checkin_date": last_day,
        "longest_checkin_streak": state.longest if state else 0,
        "checked_in_today": last_day == today,
        "streak_freeze_available": freeze_available(previous_day=last_day, today=today, is_pro=is_pro, used_freeze_weeks=weeks),
        "badges": badges,
        EXPIRES_AT: expires_at,
    }

