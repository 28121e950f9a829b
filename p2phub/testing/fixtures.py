"""pytest fixtures for tests that talk to external HTTP services through our clients.

Register them from the root conftest.py with ``pytest_plugins = ["p2phub.testing.fixtures"]``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from p2phub.testing.fake_http import FakeHTTPServer


@pytest.fixture
def fake_http_server() -> Iterator[FakeHTTPServer]:
    """A started local fake HTTP server, shut down after the test."""
    with FakeHTTPServer() as server:
        yield server
