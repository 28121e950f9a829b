"""Check every member's balances against their ledgers (SPEC §12).

    manage.py reconcile_ledger          # report; exit code 1 when any difference is found
    manage.py reconcile_ledger --fix    # also re-derive each differing cached balance (audited)

A ledger that disagrees with its audit trail (a row written around the services) is reported for
staff and never "fixed" (SPEC §12: reconciliation never rewrites history); `--fix` does not even
re-derive that member's cached balance from it. Exit code 1 while any such disagreement stands.

It also checks the referral tree (SPEC §1: every node's parent exists, numchild is right,
referrer is the tree parent) and reports each violation; those are never "fixed" here (a tree
repair is a staff decision), and any of them makes the exit code 1 as well.
"""

from django.core.management.base import BaseCommand, CommandError

from p2phub.ledgers import ledgers_reconcile
from partners.selectors import partner_tree_problems


class Command(BaseCommand):
    help = (
        "Recompute every balance from its ledger and report (or --fix) each difference; "
        "check the referral tree's integrity."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="record an audited correction for each difference")

    def handle(self, *args, fix, **options):
        tree_violations = self._check_tree()
        try:
            self._reconcile_ledgers(fix)
        except CommandError as error:
            if tree_violations:
                error.args = (f"{error} Also {tree_violations} tree integrity violation(s).",)
            raise
        if tree_violations:
            raise CommandError(f"{tree_violations} tree integrity violation(s); see above.", returncode=1)

    _TREE_IDS_SHOWN = 50

    def _check_tree(self) -> int:
        problems = partner_tree_problems()
        if problems.is_clean:
            self.stdout.write(self.style.SUCCESS("OK: the referral tree is consistent (parents, numchild, referrers)."))
            return 0
        total = 0
        for label, ids in problems.items():
            if ids:
                total += len(ids)
                shown = ", ".join(str(pk) for pk in ids[: self._TREE_IDS_SHOWN])
                more = f" (+{len(ids) - self._TREE_IDS_SHOWN} more)" if len(ids) > self._TREE_IDS_SHOWN else ""
                self.stdout.write(f"tree: {label}: {len(ids)} partner(s): {shown}{more}")
        return total

    def _reconcile_ledgers(self, fix: bool) -> None:
        report = ledgers_reconcile(fix=fix)
        for m in report.mismatches:
            if m.against == "audit":
                self.stdout.write(
                    f"{m.currency} partner {m.partner_id}: ledger {m.ledger_sum}, audit trail {m.cached_balance}, "
                    f"difference {m.difference:+} (ledger disagrees with its audit trail: staff review)"
                )
            else:
                self.stdout.write(
                    f"{m.currency} partner {m.partner_id}: ledger {m.ledger_sum}, balance {m.cached_balance}, "
                    f"difference {m.difference:+}"
                )
        checked = ", ".join(report.checked) or "no ledgers registered"
        if not report.mismatches:
            self.stdout.write(self.style.SUCCESS(f"OK: every balance matches its ledger ({checked})."))
            return
        disagreements = len(report.disagreements)
        balances = len(report.mismatches) - disagreements
        if disagreements:
            withheld = f" {report.withheld} cached balance(s) left as they are." if fix and report.withheld else ""
            fixed = f" Corrected {report.fixed} balance difference(s)." if fix and report.fixed else ""
            raise CommandError(
                f"{disagreements} ledger(s) disagree with their audit trail ({checked}): reported for staff "
                f"(LEDGER_MISMATCH), never corrected here; a correction is a staff action with a reason."
                f"{fixed}{withheld}",
                returncode=1,
            )
        if fix and report.fixed == balances:
            self.stdout.write(self.style.WARNING(f"Corrected {report.fixed} difference(s) ({checked})."))
            return
        if fix:
            raise CommandError(f"Corrected {report.fixed} of {balances} difference(s); see the log.", returncode=1)
        raise CommandError(
            f"{balances} balance(s) differ from their ledger ({checked}); run with --fix to correct.",
            returncode=1,
        )
