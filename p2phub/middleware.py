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


def bind_request_context(context: RequestContext) -> contextvars.Token:
    """Make `context` current outside a request (a Celery task started by one); hand the token
    back to `unbind_request_context` when done."""
    return _current.set(context)


def unbind_request_context(token: contextvars.Token) -> None:
    _current.reset(token)


def valid_request_id(value: object) -> bool:
    return isinstance(value, str) and bool(_VALID_REQUEST_ID.match(value))


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
        # Django logs 4xx/5xx responses after the middleware chain has returned (the context is
        # gone by then) but passes the request along: its id is on it.
        record.request_id = (
            _current.get().request_id or getattr(getattr(record, "request", None), "request_id", "") or "-"
        )
        return True


# --- Bad input and JSON errors under /api/ (API.md, Errors) -----------------------------------

API_PREFIX = "/api/"
_JSON_ERRORS = {
    400: ("Bad request.", "bad_request"),
    401: ("Authentication credentials were not provided.", "not_authenticated"),
    403: ("You do not have permission to perform this action.", "permission_denied"),
    404: ("Not found.", "not_found"),
    405: ("Method not allowed.", "method_not_allowed"),
    413: ("Request body too large.", "request_too_large"),
    500: ("Server error.", "server_error"),
}
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")
_error_logger = logging.getLogger("p2phub.request")


def json_error(status: int, detail: str | None = None, code: str | None = None):
    from django.http import JsonResponse

    default_detail, default_code = _JSON_ERRORS.get(status, ("Request failed.", "error"))
    return JsonResponse({"detail": detail or default_detail, "code": code or default_code}, status=status)


def _is_json(response) -> bool:
    return response.get("Content-Type", "").split(";")[0].strip().endswith("json")


class BadInputMiddleware:
    """Bad input is a 4xx, never a 500, and every error under /api/ is JSON (DEBUG on or off).

    * A NUL byte in the path (404) or the query string (400) is refused before any view runs:
      PostgreSQL cannot store or compare text holding NUL, so a lookup by such a segment (a
      referral code, a task id, an admin search) raised ValueError deep inside the ORM.
    * Under /api/, a body declared larger than DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 before it is
      read (DRF's parsers read the stream, which Django does not bound), and RequestDataTooBig
      raised by a non-DRF view is a 413 too.
    * Under /api/, any non-JSON error response (Django's 404 / 405 / 500 pages, the DEBUG
      technical pages) becomes `{"detail", "code"}` with the same status; the 500's details
      stay in the log that Django already wrote.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        is_api = request.path_info.startswith(API_PREFIX)
        refused = self._refuse(request, is_api)
        if refused is not None:
            return refused
        response = self.get_response(request)
        if is_api and response.status_code >= 400 and not _is_json(response) and not response.streaming:
            replacement = json_error(response.status_code)
            for header in _KEPT_HEADERS:
                if header in response:
                    replacement[header] = response[header]
            # Django logs every 4xx/5xx response not yet logged: a 500 was already logged with
            # its traceback, so its replacement must not add a second line.
            replacement._has_been_logged = getattr(response, "_has_been_logged", False)
            return replacement
        return response

    def process_exception(self, request, exception):
        from django.core.exceptions import RequestDataTooBig

        if isinstance(exception, RequestDataTooBig) and request.path_info.startswith(API_PREFIX):
            _error_logger.warning("Request body too large: %s %s", request.method, request.path)
            response = json_error(413)
            response._has_been_logged = True  # the line above; Django would log it a second time
            return response
        return None

    @staticmethod
    def _refuse(request, is_api: bool):
        from django.http import HttpResponseBadRequest, HttpResponseNotFound

        if "\x00" in request.path:
            return json_error(404) if is_api else HttpResponseNotFound("Not found.")
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:
            detail = "The query string holds a NUL byte."
            return json_error(400, detail) if is_api else HttpResponseBadRequest(detail)
        if is_api:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return json_error(400, "Malformed Content-Length.")
            if limit is not None and declared > limit:
                return json_error(413)
        return None
