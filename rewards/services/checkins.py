"""Daily check-in (SPEC §5): the service behind `POST /api/v1/me/checkin/` and the dashboard
button, plus the streak fields of the profile."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction
from django.utils import timezone

from audit.models import EventType
from audit.services import AuditEntry, audit_record_many
from p2phub.db import insert_returning, insert_sql
from partners.member_cache import EXPIRES_AT, member_changed
from partners.models import Partner
from partners.notifications import Kind, NotificationDraft, notifications_create
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


def _streak_locked(partner_id: int) -> Streak:
    """The member's streak row, created if missing and locked until commit, in one statement:
    their own concurrent check-ins queue here, nobody else's do. On PostgreSQL the statement
    also takes KEY SHARE on the member's partner row, the lock the check-in's foreign keys
    (streak, check-in, ledger and delta rows all reference only this member) would otherwise
    take at COMMIT, after the audit chain head: taken first, the check-in never waits for a row
    while holding the chain (see audit.services), and needs no SET CONSTRAINTS."""
    table = connection.ops.quote_name(Streak._meta.db_table)
    columns = "partner_id, current, longest, last_checkin_date, last_checkin_at"
    if connection.vendor == "postgresql":
        partners = connection.ops.quote_name(Partner._meta.db_table)
        source = f"SELECT id, 0, 0, NULL::date, NULL::timestamptz FROM {partners} WHERE id = %s FOR KEY SHARE"
    else:
        source = "VALUES (%s, 0, 0, NULL, NULL)"
    with connection.cursor() as cursor:
        # A no-op update of a non-key column: the conflicting row is locked and returned.
        cursor.execute(
            f"INSERT INTO {table} ({columns}) {source} ON CONFLICT (partner_id) DO UPDATE SET current = {table}.current "
            "RETURNING current, longest, last_checkin_date, last_checkin_at",
            [partner_id],
        )
        current, longest, last_day, last_at = cursor.fetchone()
    # SQLite hands RETURNING columns back as stored text: convert them as Django's fields would.
    last_day = Streak._meta.get_field("last_checkin_date").to_python(last_day)
    if isinstance(last_at, str):
        last_at = timezone.make_aware(datetime.fromisoformat(last_at), UTC)
    return Streak(partner_id=partner_id, current=current, longest=longest, last_checkin_date=last_day, last_checkin_at=last_at)


def _checkin_insert(checkin: CheckIn, state: Streak) -> bool:
    """Insert today's check-in and move the streak row with it; False (and nothing written) when
    today's row exists already. On PostgreSQL one statement (the streak update is gated on the
    insert having happened); on SQLite two."""
    insert, params = insert_sql(
        CheckIn, [checkin], ignore_conflicts=True, conflict_target=("partner", "day"), returning=("id",)
    )
    table = connection.ops.quote_name(Streak._meta.db_table)
    update = f"UPDATE {table} SET current = %s, longest = %s, last_checkin_date = %s, last_checkin_at = %s WHERE partner_id = %s"
    values = [state.current, state.longest, state.last_checkin_date, state.last_checkin_at, state.partner_id]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"WITH c AS ({insert}) {update} AND EXISTS (SELECT 1 FROM c) RETURNING 1", [*params, *values])
            return cursor.fetchone() is not None
        cursor.execute(insert, params)
        if cursor.fetchone() is None:
            return False
        cursor.execute(update, values)
        return True


def checkin_record(*, partner: Partner, now: datetime | None = None) -> CheckInResult:
    """Check the member in for the current UTC day. Idempotent per day: a second call (or 50
    concurrent ones) awards nothing and reports `already_checked_in`.

    Statements (PostgreSQL, a first check-in of the day): the streak row created-or-locked and
    read; the check-in row with the streak update; the XP ledger row with its delta (and the
    balance for level-up detection); the audit append (chain head, then the row). The streak row
    lock serializes the member's own check-ins, `last_checkin_date == today` answers "already
    checked in", and the unique (partner, day) constraint stays the last word (ON CONFLICT)."""
    now = now or timezone.now()
    today = utc_day(now)
    with transaction.atomic():
        state = _streak_locked(partner.pk)
        if state.last_checkin_date == today:
            existing = CheckIn.objects.filter(partner_id=partner.pk, day=today).first()
            if existing:
                return _already(existing, state)
        is_pro = partner.pro_active_at(now)  # as loaded by the caller for this request
        gap = (today - state.last_checkin_date).days if state.last_checkin_date else None
        step = next_streak(
            previous_day=state.last_checkin_date, previous_streak=state.current, today=today,
            is_pro=is_pro,
            # Only a PRO member who missed exactly one day can use a freeze: read them only then.
            used_freeze_weeks=_used_freeze_weeks(partner.pk) if is_pro and gap == 2 else set(),
        )
        xp, bonus = checkin_xp(step.streak, is_pro=is_pro)
        checkin = CheckIn(
            partner_id=partner.pk, day=today, streak=step.streak, xp=xp, bonus_xp=bonus,
            was_pro=is_pro, freeze_week=step.freeze_week, created_at=now,
        )
        moved = Streak(
            partner_id=partner.pk, current=step.streak, longest=max(state.longest, step.streak),
            last_checkin_date=today, last_checkin_at=now,
        )
        if not _checkin_insert(checkin, moved):
            # The constraint is the last word (a row written without its streak update).
            return _already(CheckIn.objects.get(partner_id=partner.pk, day=today), state)
        state = moved
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
        )
        earned, badge_audit = _award_badges(partner, step.streak, now)
        # Every row above references only this member, whose KEY SHARE lock the streak
        # statement took (on PostgreSQL): no SET CONSTRAINTS needed before the chain head.
        audit_record_many(award.audit_entries + badge_audit, foreign_keys_locked=True)
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


def _award_badges(partner: Partner, streak: int, now) -> tuple[list[str], list[AuditEntry]]:
    """The streak's milestone badges not earned yet: one INSERT ... ON CONFLICT DO NOTHING
    RETURNING for all of them (the unique (partner, code) constraint decides), one notification
    insert for the new ones."""
    codes = badges_for_streak(streak)
    if not codes:
        return [], []
    rows = [Badge(partner_id=partner.pk, code=code, earned_at=now) for code in codes]
    won = {code for _pk, code in insert_returning(Badge, rows, ignore_conflicts=True, returning=("id", "code"))}
    earned = [code for code in codes if code in won]
    notifications_create(
        [
            NotificationDraft(
                partner_id=partner.pk, kind=Kind.BADGE_EARNED,
                params={"badge": Badge.Code(code).label if code in Badge.Code.values else code, "streak": streak},
                data={"badge": code, "streak": streak}, dedupe_key=f"badge:{partner.pk}:{code}",
                language=partner.language,
            )
            for code in earned
        ]
    )
    audit = [AuditEntry(EventType.BADGE_EARNED, partner_id=partner.pk, metadata={"badge": code, "streak": streak}) for code in earned]
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

