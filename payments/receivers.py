"""Receivers of the payment signals (sent after commit, see payments.signals)."""

from django.conf import settings

from payments.models import Payment


def on_payment_under_review(sender, *, payment_id: int, partner_id: int, reason: str = "", **kwargs) -> None:
    """Tell the staff chat that a payment waits for their review (SPEC §9)."""
    from partners.models import StaffMessage
    from partners.notifications import staff_message_create

    payment = Payment.objects.select_related("partner").filter(pk=payment_id).first()
    if payment is None:
        return
    staff_message_create(
        kind=StaffMessage.Kind.PAYMENT_UNDER_REVIEW,
        params={
            "payment_id": payment.pk,
            "member": payment.partner.display_name,
            "code": payment.partner.referral_code,
            "method": payment.method,
            "amount": payment.amount,
            "currency": payment.currency,
            "reason": reason or payment.review_reason or "-",
            "tx_hash": payment.tx_hash or "-",
        },
        data={"payment_id": payment.pk, "partner_id": partner_id, "reason": reason},
        dedupe_key=f"payment_under_review:{payment.pk}:{payment.tx_hash or ''}"[:128],
        admin_url=f"{settings.SITE_URL}/admin/payments/payment/{payment.pk}/change/",
    )
