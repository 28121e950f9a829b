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


@pytest.fixture
def seeded_catalogues(transactional_db):
    """The rows data migrations seed (the task catalogue, the share templates), back in place for
    a transactional test: the flush that ends every transactional test empties them, so a test
    running after one would otherwise find them gone. Each seed runs only into an empty table."""
    from importlib import import_module

    from django.apps import apps

    from referrals.models import ShareTemplate
    from rewards.models import Task

    seeds = ((Task, "rewards.migrations.0003_seed_tasks"), (ShareTemplate, "referrals.migrations.0004_share_templates_seed"))
    for model, migration in seeds:
        if not model.objects.exists():
            import_module(migration).seed(apps, None)
