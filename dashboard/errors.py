"""Services speak English to API clients (`DomainError.detail`); pages speak the member's
language. This maps each error code the dashboard's actions can meet to a translated message;
an unknown code falls back to a translated generic sentence (never a 500)."""

from django.conf import settings
from django.utils.translation import gettext as _

from p2phub.errors import DomainError


def domain_error_message(error: DomainError, **params) -> str:
    code = getattr(error, "code", "")
    messages = {
        # tasks
        "task_not_found": _("This task does not exist (any more)."),
        "task_not_started": _("Start the task before claiming it."),
        "already_claimed": _("This task's reward was already claimed."),
        "requirement_not_met": _("Requirement not met. Progress: %(progress)s/%(requirement)s"),
        "telegram_account_required": _("This task checks your Telegram chat membership: sign in through Telegram first."),
        "telegram_unavailable": _("Telegram could not be reached to check your membership. Try again in a minute."),
        "verification_unavailable": _("Membership for this task cannot be verified right now."),
        "not_a_chat_member": _("Join the chat first, then claim the reward."),
        # payments
        "invalid_method": _("Choose TON or USDT."),
        "wallet_unavailable": _("This payment method is not available right now."),
        "rate_unavailable": _("The TON/USD rate is unavailable right now; please try again shortly."),
        "memo_conflict": _("The payment could not be opened; please try again."),
        "invalid_tx_hash": _("The transaction hash must be 64 hexadecimal characters."),
        "tx_hash_used": _("This transaction hash was already used for a payment."),
        "tx_hash_required": _("USDT payments are checked by staff: submit the transaction hash."),
        "invalid_state": _("This payment can no longer be changed."),
        "indexer_unavailable": _("The TON network cannot be checked right now; your payment will still be detected automatically."),
        "not_found": _("Not found."),
        # payouts
        "invalid_amount": _("Enter a positive amount with at most 6 decimal places."),
        "below_minimum": _("The minimum payout is %(minimum)s USDT.") % {"minimum": settings.PAYOUT_MINIMUM_USDT},
        "invalid_network": _("Choose a network from the list."),
        "negative_balance": _("Your balance is negative after a refund; withdrawals resume once it is positive again."),
        "insufficient_balance": _("Your available balance is not enough for this payout."),
        "throttled": _("Too many attempts. Please wait a minute and try again."),
    }
    message = messages.get(code)
    if message is None:
        return _("This action could not be completed (%(code)s).") % {"code": code or "error"}
    if params:
        message = message % params
    return message
