"""A local fake HTTP server for testing our HTTP clients against the real wire format.

Standard library only: a ``ThreadingHTTPServer`` bound to 127.0.0.1 on a free port, served
from a daemon thread. Tests register canned answers per (method, path) and then assert on
``server.requests``, so the client code under test runs unmodified (real sockets, real
timeouts, real JSON) — no mocks of our own functions.

    with FakeHTTPServer() as server:
        server.respond_json("GET", "/rates", {"rates": {...}})
        settings.TON_RATE_URL = f"{server.url}/rates?tokens=ton"
        ...
        assert len(server.requests) == 1
"""

from __future__ import annotations

import json as jsonlib
import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FakeRequest:
    """One request as received. Header names are lower-cased (HTTP names are case-insensitive)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: Any | None
    body: bytes


@dataclass
class FakeResponse:
    """A canned answer. ``json`` (when not None) wins over ``body``; ``delay`` is in seconds."""

    status: int = 200
    json: Any | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Handler = Callable[[FakeRequest], FakeResponse]


class FakeHTTPServer:
    """Context manager running the fake server; ``url`` has no trailing slash."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], Handler] = {}
        self._lock = threading.Lock()
        # Set on close so that handlers sleeping for ``delay`` wake up instead of lingering.
        self._closing = threading.Event()
        self.requests: list[FakeRequest] = []
        # Exceptions raised by route handlers (they are answered with a 500 as well).
        self.errors: list[BaseException] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler_class(self))
        self._httpd.daemon_threads = True
        # A short poll interval keeps shutdown (one per test) from costing the default 0.5 s.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._started = False

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHTTPServer:
        if not self._started:
            self._thread.start()
            self._started = True
        return self

    def close(self) -> None:
        self._closing.set()
        if self._started:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def __enter__(self) -> FakeHTTPServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- routes ------------------------------------------------------------------------

    def add_route(self, method: str, path: str, handler: Handler) -> None:
        """Answer ``method path`` (query string excluded) with ``handler(request)``."""
        with self._lock:
            self._routes[(method.upper(), path)] = handler

    def respond_json(self, method: str, path: str, payload: Any, status: int = 200) -> None:
        self.add_route(method, path, lambda _request: FakeResponse(status=status, json=payload))

    def respond_sequence(self, method: str, path: str, responses: list[FakeResponse]) -> None:
        """Each call answers with the next response; the last one repeats forever."""
        if not responses:
            raise ValueError("respond_sequence needs at least one response")
        pending = list(responses)
        pending_lock = threading.Lock()

        def handler(_request: FakeRequest) -> FakeResponse:
            with pending_lock:
                return pending.pop(0) if len(pending) > 1 else pending[0]

        self.add_route(method, path, handler)

    def requests_to(self, method: str, path: str) -> list[FakeRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == method.upper() and r.path == path]

    # -- called from the request threads -----------------------------------------------

    def _dispatch(self, request: FakeRequest) -> FakeResponse:
        with self._lock:
            self.requests.append(request)
            handler = self._routes.get((request.method, request.path))
        if handler is None:
            return FakeResponse(
                status=404, json={"error": f"no fake route for {request.method} {request.path}"}
            )
        try:
            return handler(request)
        except Exception as exc:  # a broken test handler must show up, not hang the client
            with self._lock:
                self.errors.append(exc)
            return FakeResponse(status=500, body=traceback.format_exc().encode())

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._closing.wait(seconds)


def _make_handler_class(server: FakeHTTPServer) -> type[BaseHTTPRequestHandler]:
    class _RequestHandler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            response = server._dispatch(self._read_request())
            server._wait(response.delay)
            self._write_response(response)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

        def _read_request(self) -> FakeRequest:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            return FakeRequest(
                method=self.command.upper(),
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={name.lower(): value for name, value in self.headers.items()},
                json=_try_json(body),
                body=body,
            )

        def _write_response(self, response: FakeResponse) -> None:
            headers = dict(response.headers)
            body = response.body
            if response.json is not None:
                body = jsonlib.dumps(response.json).encode()
                headers.setdefault("Content-Type", "application/json")
            try:
                self.send_response(response.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up (e.g. a timeout test); nothing left to answer.
                pass

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            logger.debug("fake http: " + format, *args)

    return _RequestHandler


def _try_json(body: bytes) -> Any | None:
    if not body:
        return None
    try:
        return jsonlib.loads(body)
    except ValueError:
        return None
