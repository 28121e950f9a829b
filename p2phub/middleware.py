"""Request context: the request id (taken from X-Request-ID when present, else generated and
echoed on every response), the client IP and the user agent. Kept in a context variable so
that logs and audit rows written anywhere during the request carry them."""

import contextvars
import ipaddress
import logging
import re
import uuid
from dataclasses import dataclass

from django.conf import settings

REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
# Accept only ids that are safe to log and echo back (no header injection, bounded size).
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")
MAX_USER_AGENT = 512


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    ip: str | None = None
    user_agent: str = ""


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar("request_context", default=RequestContext())


def current_request_context() -> RequestContext:
    return _current.get()


def _normalized_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(meta: dict) -> str | None:
    """REMOTE_ADDR, or the address the configured number of trusted proxies saw; normalized so
    it compares (and hashes) the same everywhere, None when it is not an IP address."""
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [part.strip() for part in forwarded.split(",") if part.strip()]
        if hops:
            return _normalized_ip(hops[-min(proxies, len(hops))])
    return _normalized_ip(meta.get("REMOTE_ADDR") or "")


class RequestIDMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        context = RequestContext(
            request_id=request_id,
            ip=client_ip(request.META),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:MAX_USER_AGENT],
        )
        token = _current.set(context)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIDLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get().request_id or "-"
        return True
