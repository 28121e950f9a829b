"""Every state change of XP: awards and folding, check-ins, tasks, reminders, the XP ledger's
reconciliation hooks. One module per concern, one import path for callers."""

from rewards.services.checkins import (
    CheckInResult,
    checkin_record,
    streak_profile_fields,
)
from rewards.services.ledger import (
    CURRENCY,
    XP_LEDGER,
    register_xp_ledger,
    xp_correct_mismatch,
    xp_find_audit_disagreements,
    xp_find_mismatches,
)
from rewards.services.reminders import (
    streak_reminders_send,
)
from rewards.services.tasks import (
    task_claim,
    task_start,
    tasks_cleanup_stale,
)
from rewards.services.xp import (
    XPAward,
    XPAwardFailure,
    XPAwardResult,
    xp_award,
    xp_award_many,
    xp_fold_all,
    xp_fold_deltas,
)

__all__ = [
    "CURRENCY",
    "CheckInResult",
    "XPAward",
    "XPAwardFailure",
    "XPAwardResult",
    "XP_LEDGER",
    "checkin_record",
    "register_xp_ledger",
    "streak_profile_fields",
    "streak_reminders_send",
    "task_claim",
    "task_start",
    "tasks_cleanup_stale",
    "xp_award",
    "xp_award_many",
    "xp_correct_mismatch",
    "xp_find_audit_disagreements",
    "xp_find_mismatches",
    "xp_fold_all",
    "xp_fold_deltas",
]
