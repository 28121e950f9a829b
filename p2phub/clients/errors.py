"""Errors raised by the external HTTP clients (Telegram Bot API, toncenter, rate source).

Callers only need to tell two cases apart: *transient* failures are worth retrying later
(Celery ``autoretry_for=(TransientExternalError,)``), *permanent* ones are not — retrying
a 403 or a malformed answer just repeats the failure.
"""

from __future__ import annotations


class ExternalServiceError(Exception):
    """Base class for any failure talking to an external HTTP service."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        # HTTP status (or the service's own error code) when there was an answer at all.
        self.status_code = status_code


class TransientExternalError(ExternalServiceError):
    """Timeouts, connection errors, 5xx and 429: retry later, ideally after ``retry_after``."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code)
        # Seconds the service asked us to wait (429), or None when it did not say.
        self.retry_after = retry_after


class PermanentExternalError(ExternalServiceError):
    """4xx other than 429, missing configuration, malformed JSON or unexpected shape."""
