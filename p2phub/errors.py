"""Domain errors raised by services. Plain Python (no DRF import) so services stay usable from
commands and tasks; `p2phub.api.exceptions` maps them to HTTP answers."""


class DomainError(Exception):
    """A business rule said no. `status_code` and `code` travel to API clients."""

    status_code = 400
    code = "invalid"

    def __init__(self, detail: str, *, code: str | None = None, status_code: int | None = None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code


class ConflictError(DomainError):
    status_code = 409
    code = "conflict"


class NotFoundError(DomainError):
    status_code = 404
    code = "not_found"


class ServiceUnavailableError(DomainError):
    status_code = 503
    code = "unavailable"
