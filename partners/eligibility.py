"""Leaderboard eligibility changes (SPEC §8): status, fraud hold, leaderboard visibility, and
what the boards show of a member (name, PRO).

Every service that changes one of them calls `partner_eligibility_changed(partner_id)` inside its
transaction, whether it wrote with `save()` or `.update()`; each registered listener (rewards
re-derives the member's place on the Redis boards) runs after commit, so a rolled-back change
syncs nothing. Listeners register from AppConfig.ready(), so partners imports nothing of theirs.
"""

from collections.abc import Callable
from functools import partial

from django.db import transaction

EligibilityListener = Callable[[int], None]

_listeners: list[EligibilityListener] = []


def register_eligibility_listener(listener: EligibilityListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def partner_eligibility_changed(partner_id: int) -> None:
    """Call inside the transaction that changed the member's eligibility."""
    for listener in _listeners:
        transaction.on_commit(partial(listener, partner_id), robust=True)
