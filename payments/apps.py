from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "PRO & payments"

    def ready(self) -> None:
        from p2phub.ledgers import LedgerSource, register_ledger
        from partners.profile import register_profile_provider
        from payments.selectors import usdt_entries_for, usdt_find_mismatches, usdt_profile_fields

        register_profile_provider(usdt_profile_fields)
        from payments import receivers, signals

        signals.payment_under_review.connect(
            receivers.on_payment_under_review, dispatch_uid="payments.staff_chat_review"
        )
        register_ledger(
            LedgerSource(
                currency="USDT",
                entries_for=usdt_entries_for,
                # No cached USDT balance to re-derive: every figure is a sum of ledger rows.
                find_mismatches=list,
                correct_mismatch=None,
                # Ledger vs audit trail: reported for staff, never "fixed" by reconciliation.
                find_audit_disagreements=usdt_find_mismatches,
            )
        )
