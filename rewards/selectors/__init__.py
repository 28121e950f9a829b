"""Every non-trivial read of XP, levels and tasks."""

from rewards.selectors.tasks import (
    TaskState,
    checkin_run_progress,
    referral_counts,
    task_reward_xp,
    task_states,
)
from rewards.selectors.xp import (
    partners_with_xp,
    xp_balance,
    xp_balances,
    xp_entries_for,
    xp_ledger_sum,
    xp_member_list_fields,
    xp_profile_fields,
)

__all__ = [
    "TaskState",
    "checkin_run_progress",
    "partners_with_xp",
    "referral_counts",
    "task_reward_xp",
    "task_states",
    "xp_balance",
    "xp_balances",
    "xp_entries_for",
    "xp_ledger_sum",
    "xp_member_list_fields",
    "xp_profile_fields",
]
