"""`POST /telegram/webhook/`: Telegram's calls, answered fast.

403 when X-Telegram-Bot-Api-Secret-Token is missing or wrong (compared in constant time; with
no TELEGRAM_WEBHOOK_SECRET configured every call is refused), 413 for a body over
TELEGRAM_WEBHOOK_MAX_BYTES, 400 for a body that is not a JSON object with an integer update_id
(malformed, too deeply nested, an array...), 200 otherwise. The 200 only stores the update
(a redelivered update_id is a no-op); the command and its reply run in Celery after commit.
Rejected secrets are audited at most once a minute per client address.
"""

import hmac
import json
import logging

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from audit.models import EventType
from audit.services import audit_record
from p2phub.api.parsers import json_depth_exceeds
from p2phub.middleware import current_request_context
from partners.bot.updates import telegram_update_receive

logger = logging.getLogger(__name__)

SECRET_HEADER = "HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN"
_REJECTION_AUDIT_SECONDS = 60


def _reply(status: int, detail: str | None = None) -> JsonResponse:
    body = {"ok": status == 200}
    if detail:
        body["detail"] = detail
    return JsonResponse(body, status=status)


def _secret_ok(request: HttpRequest) -> bool:
    expected = settings.TELEGRAM_WEBHOOK_SECRET
    given = request.META.get(SECRET_HEADER, "")
    return bool(expected) and hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode())


def _audit_rejection() -> None:
    ip = current_request_context().ip or "unknown"
    try:
        first = cache.add(f"tg:webhook:rejected:{ip}", 1, timeout=_REJECTION_AUDIT_SECONDS)
    except Exception:  # noqa: BLE001 - a cache outage must not turn a 403 into a 500
        first = False
    if first:
        audit_record(EventType.SECURITY_WEBHOOK_REJECTED, metadata={"reason": "secret_token"})


@csrf_exempt
@require_POST
def telegram_webhook(request: HttpRequest) -> JsonResponse:
    if not _secret_ok(request):
        logger.warning("Telegram webhook call with a missing or wrong secret token")
        _audit_rejection()
        return _reply(403, "Wrong secret token.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _reply(400, "Malformed Content-Length.")
    if declared > settings.TELEGRAM_WEBHOOK_MAX_BYTES:
        return _reply(413, "Update too large.")
    raw = request.read(settings.TELEGRAM_WEBHOOK_MAX_BYTES + 1)
    if len(raw) > settings.TELEGRAM_WEBHOOK_MAX_BYTES:
        return _reply(413, "Update too large.")
    if b"\x00" in raw or b"\\u0000" in raw:
        return _reply(400, "The update holds a NUL character.")  # PostgreSQL cannot store it
    try:
        update = json.loads(raw)
        json.dumps(update, ensure_ascii=False).encode("utf-8")  # lone surrogates: not storable text
    except (ValueError, RecursionError):
        return _reply(400, "The body is not JSON (UTF-8).")
    if not isinstance(update, dict):
        return _reply(400, "An update is a JSON object.")
    if json_depth_exceeds(update):
        return _reply(400, "The update is nested too deeply.")
    update_id = update.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or not 0 <= update_id < 2**63:
        return _reply(400, "An update needs an integer update_id.")
    telegram_update_receive(update)
    return _reply(200)
