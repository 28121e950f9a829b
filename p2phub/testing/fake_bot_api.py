"""A fake Telegram Bot API on the local fake HTTP server, answering in Telegram's JSON.

    with FakeBotAPI(token="42:TEST") as bot:
        settings.TELEGRAM_API_BASE_URL = bot.url
        ...
        assert bot.messages_to(chat_id)[0]["text"].startswith("<b>")

`sendMessage` answers `{"ok": true, "result": <Message>}` with increasing message ids, unless a
scripted answer is queued (`script(...)`: FakeResponse objects in order, for any chat or for one
chat). With `enforce_limits=True` it behaves like Telegram under load: more than
`global_per_second` messages in any one-second window, or two messages to one chat less than
`chat_interval` apart, are answered 429 with `parameters.retry_after`. Every accepted message
is kept with its arrival time (`sent`), so callers can measure rates and find duplicates.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from p2phub.testing.fake_http import FakeHTTPServer, FakeRequest, FakeResponse


@dataclass(frozen=True)
class SentMessage:
    at: float  # time.monotonic() on arrival
    chat_id: Any
    text: str
    payload: dict


def telegram_error(status: int, description: str, retry_after: float | None = None) -> FakeResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return FakeResponse(status=status, json=body)


class FakeBotAPI:
    def __init__(
        self,
        *,
        token: str,
        enforce_limits: bool = False,
        global_per_second: int = 30,
        chat_interval: float = 1.0,
    ) -> None:
        self.token = token
        self.server = FakeHTTPServer()
        self.enforce_limits = enforce_limits
        self.global_per_second = global_per_second
        self.chat_interval = chat_interval
        self._lock = threading.Lock()
        self._scripts: dict[Any, deque[FakeResponse]] = {}
        self._recent: deque[float] = deque()
        self._chat_last: dict[Any, float] = {}
        self._next_id = 1
        self.sent: list[SentMessage] = []
        self.rate_limited = 0
        self.server.add_route("POST", self.path("sendMessage"), self._send_message)
        self.server.add_route("POST", self.path("getUpdates"), self._empty_updates)
        self.server.add_route(
            "POST",
            self.path("setWebhook"),
            lambda _r: FakeResponse(json={"ok": True, "result": True, "description": "Webhook was set"}),
        )
        self.server.add_route("POST", self.path("deleteWebhook"), lambda _r: FakeResponse(json={"ok": True, "result": True}))
        self.server.add_route(
            "POST",
            self.path("getWebhookInfo"),
            lambda _r: FakeResponse(json={"ok": True, "result": {"url": "", "pending_update_count": 0}}),
        )

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.server.url

    def path(self, method: str) -> str:
        return f"/bot{self.token}/{method}"

    def __enter__(self) -> FakeBotAPI:
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.close()

    # -- scripting and inspection ----------------------------------------------------------------

    def script(self, *responses: FakeResponse, chat_id: Any = None) -> None:
        """Answer the next sendMessage calls (to `chat_id`, or to anyone) with these, in order."""
        with self._lock:
            self._scripts.setdefault(chat_id, deque()).extend(responses)

    def requests(self, method: str = "sendMessage") -> list[FakeRequest]:
        return self.server.requests_to("POST", self.path(method))

    def requests_to(self, chat_id: Any) -> list[FakeRequest]:
        return [r for r in self.requests() if isinstance(r.json, dict) and r.json.get("chat_id") == chat_id]

    def messages_to(self, chat_id: Any) -> list[dict]:
        """The sendMessage bodies Telegram accepted for `chat_id`."""
        with self._lock:
            return [m.payload for m in self.sent if m.chat_id == chat_id]

    # -- handlers --------------------------------------------------------------------------------

    def _scripted(self, chat_id: Any) -> FakeResponse | None:
        for key in (chat_id, None):
            queue = self._scripts.get(key)
            if queue:
                return queue.popleft()
        return None

    def _send_message(self, request: FakeRequest) -> FakeResponse:
        payload = request.json if isinstance(request.json, dict) else {}
        chat_id, text = payload.get("chat_id"), payload.get("text")
        if chat_id is None or not isinstance(text, str) or not text:
            return telegram_error(400, "Bad Request: message text is empty" if chat_id is not None else "Bad Request: chat_id is empty")
        now = time.monotonic()
        with self._lock:
            scripted = self._scripted(chat_id)
            if scripted is not None:
                return scripted  # answered as scripted (even a 200: not kept in `sent`)
            if self.enforce_limits:
                while self._recent and now - self._recent[0] >= 1.0:
                    self._recent.popleft()
                last = self._chat_last.get(chat_id)
                if len(self._recent) >= self.global_per_second or (last is not None and now - last < self.chat_interval):
                    self.rate_limited += 1
                    return telegram_error(429, "Too Many Requests: retry after 1", retry_after=1)
                self._recent.append(now)
                self._chat_last[chat_id] = now
            message_id = self._next_id
            self._next_id += 1
            self.sent.append(SentMessage(at=now, chat_id=chat_id, text=text, payload=payload))
        return FakeResponse(
            json={
                "ok": True,
                "result": {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private" if isinstance(chat_id, int) and chat_id > 0 else "supergroup"},
                    "text": text,
                },
            }
        )

    def _empty_updates(self, request: FakeRequest) -> FakeResponse:
        return FakeResponse(json={"ok": True, "result": []})
