from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "PRO & payments"

    def ready(self) -> None:
        from p2phub.ledgers import LedgerSource, register_ledger
        from partners.profile import register_profile_provider
        from payments.selectors import usdt_entries_for, usdt_find_mismatches, usdt_profile_fields
        from payments.services.ledger import usdt_correct_mismatch

        register_profile_provider(usdt_profile_fields)
        register_ledger(
            LedgerSource(
                currency="USDT",
                entries_for=usdt_entries_for,
                find_mismatches=usdt_find_mismatches,
                correct_mismatch=usdt_correct_mismatch,
            )
        )
