"""Verification of the audit hash chain (SPEC §11)."""

from dataclasses import dataclass

from audit.models import AuditLog

_CHUNK = 2000


@dataclass(frozen=True)
class ChainReport:
    rows: int
    broken_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def audit_chain_verify(*, chunk_size: int = _CHUNK) -> ChainReport:
    """Stream the log in id order, recompute every hash and check every link. Stops at the first
    broken row: a row whose content no longer matches its hash (edited), or whose `prev_hash` is
    not the previous row's hash (a row deleted, inserted or re-hashed before it)."""
    expected_prev = AuditLog.GENESIS_HASH
    rows = 0
    for row in AuditLog.objects.order_by("id").iterator(chunk_size=chunk_size):
        if row.prev_hash != expected_prev:
            return ChainReport(rows, row.pk, "prev_hash does not match the previous row's hash")
        if row.compute_hash(row.prev_hash) != row.hash:
            return ChainReport(rows, row.pk, "content does not match its hash")
        expected_prev = row.hash
        rows += 1
    return ChainReport(rows)
