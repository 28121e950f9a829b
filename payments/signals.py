"""Hooks for work outside the payment transaction (Telegram delivery, metrics, analytics).

Every signal here is sent from `transaction.on_commit`, so receivers only ever see committed
money movements and can call external services freely.
"""

from django.dispatch import Signal

# kwargs: payment_id, partner_id, commission_entry_ids (list[int])
payment_completed = Signal()
# kwargs: payment_id, partner_id, reversal_entry_ids (list[int])
payment_refunded = Signal()
# kwargs: payment_id, partner_id, reason
payment_under_review = Signal()
# kwargs: payout_id, partner_id, status
payout_decided = Signal()
# kwargs: partner_ids (list[int])
pro_expired = Signal()
