"""Every state change of payments, subscriptions, the USDT ledger and payouts."""

from payments.services.completion import (
    commission_plan,
    payment_approve,
    payment_complete,
    payment_refund,
    payment_reject,
)
from payments.services.ledger import usdt_correct_mismatch, usdt_correction_create
from payments.services.payouts import payout_approve, payout_reject, payout_request
from payments.services.sessions import (
    payment_create,
    payment_expire_stale,
    payment_submit_usdt,
    ton_quote_nanotons,
)
from payments.services.stats import commission_stats_fold
from payments.services.subscriptions import (
    subscription_expire_due,
    subscription_send_warnings,
    subscriptions_run_expiry,
)
from payments.services.ton import (
    payment_check_ton,
    ton_poll,
    ton_process_transfers,
    ton_transfer_assign,
    ton_transfer_resolve,
)

__all__ = [
    "commission_plan",
    "commission_stats_fold",
    "payment_approve",
    "payment_check_ton",
    "payment_complete",
    "payment_create",
    "payment_expire_stale",
    "payment_refund",
    "payment_reject",
    "payment_submit_usdt",
    "payout_approve",
    "payout_reject",
    "payout_request",
    "subscription_expire_due",
    "subscription_send_warnings",
    "subscriptions_run_expiry",
    "ton_poll",
    "ton_process_transfers",
    "ton_quote_nanotons",
    "ton_transfer_assign",
    "ton_transfer_resolve",
    "usdt_correct_mismatch",
    "usdt_correction_create",
]
