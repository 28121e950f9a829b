"""Check every member's balances against their ledgers (SPEC §12).

    manage.py reconcile_ledger          # report; exit code 1 when any difference is found
    manage.py reconcile_ledger --fix    # also record an audited correction for each
"""

from django.core.management.base import BaseCommand, CommandError

from rewards.reconcile import ledgers_reconcile


class Command(BaseCommand):
    help = "Recompute every balance from its ledger and report (or --fix) each difference."

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="record an audited correction for each difference")

    def handle(self, *args, fix, **options):
        report = ledgers_reconcile(fix=fix)
        for m in report.mismatches:
            self.stdout.write(
                f"{m.currency} partner {m.partner_id}: ledger {m.ledger_sum}, balance {m.cached_balance}, "
                f"difference {m.difference:+}"
            )
        checked = ", ".join(report.checked) or "no ledgers registered"
        if not report.mismatches:
            self.stdout.write(self.style.SUCCESS(f"OK: every balance matches its ledger ({checked})."))
            return
        if fix and report.fixed == len(report.mismatches):
            self.stdout.write(self.style.WARNING(f"Corrected {report.fixed} difference(s) ({checked})."))
            return
        if fix:
            raise CommandError(
                f"Corrected {report.fixed} of {len(report.mismatches)} difference(s); see the log.", returncode=1
            )
        raise CommandError(
            f"{len(report.mismatches)} balance(s) differ from their ledger ({checked}); run with --fix to correct.",
            returncode=1,
        )
