"""`manage.py verify_audit_chain`: prints "OK" with the row count, or names the first broken row
and exits with status 1."""

from django.core.management.base import BaseCommand, CommandError

from audit.chain import audit_chain_verify


class Command(BaseCommand):
    help = "Verify the SHA-256 hash chain of the audit log and name the first broken row."

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=2000)

    def handle(self, *args, chunk_size, **options):
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1.")
        report = audit_chain_verify(chunk_size=chunk_size)
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"OK: {report.rows} audit rows, chain intact."))
            return
        raise CommandError(
            f"Audit chain broken at row id={report.broken_id}: {report.problem} "
            f"({report.rows} rows before it verified).",
            returncode=1,
        )
