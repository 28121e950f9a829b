"""Per-member read cache with exact invalidation: what `/api/v1/me/`, `/me/network/` and the
dashboard home show of a member's ledgers, streak, badges, downline and notifications, kept in
the shared cache under the member's version token.

How it stays right:
* Every write that changes what a section shows calls `member_changed(ids)` inside its
  transaction; after commit the members' version tokens are replaced by new random tokens.
  Tokens are random, not counters, so a token lost to eviction or a Redis restart can never come
  back and re-validate an old body.
* A reader reads the token *before* it reads the database and stores its body tagged with that
  token. A write that commits meanwhile replaces the token after its commit, so the body it
  raced with is tagged with a dead token and is never served.
* `everyone_changed()` replaces one global token that every body carries too: for changes that
  touch an unbounded set of members (a subtree moved to another sponsor).
* Time changes some answers without any write (a streak that lapses at midnight, held USDT that
  becomes available): a builder returns its own expiry with the fields (`EXPIRES_AT`) and the
  body is not served past it.
* The cache is on by default only when it is shared by every server process (Redis,
  MEMBER_CACHE_SECONDS > 0): a per-process memory cache cannot see other processes' token
  changes. Without it, and whenever Redis fails (django-redis fails open: a read is a miss),
  every request builds from the database. MEMBER_CACHE_SECONDS (an hour) is not how bodies go
  stale; it bounds the life of a body whose token change was lost because Redis was unreachable
  at the moment of the commit.
"""

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

# A builder may put the moment its answer stops being true under this key; it is not returned.
EXPIRES_AT = "__expires_at__"

_GLOBAL_KEY = "member-cache:all"


def _version_key(partner_id: int) -> str:
    return f"member-cache:v:{partner_id}"


def _body_key(section: str, partner_id: int) -> str:
    return f"member-cache:{section}:{partner_id}"


def _new_token() -> str:
    return uuid.uuid4().hex


def cache_enabled() -> bool:
    return settings.MEMBER_CACHE_SECONDS > 0


def member_cached(section: str, partner_id: int, build: Callable[[], dict]) -> dict:
    """The section's fields for one member: the cached body when its tokens are current and it
    has not expired, else `build()` (stored for the next reader). One cache round trip on a hit."""
    if not cache_enabled():
        return _strip(build())
    version_key, body_key = _version_key(partner_id), _body_key(section, partner_id)
    try:
        found = cache.get_many([_GLOBAL_KEY, version_key, body_key])
    except Exception:  # noqa: BLE001 - a cache that raises is a miss (SPEC §14)
        logger.warning("Member cache unreachable; building %s for partner %s", section, partner_id, exc_info=True)
        return _strip(build())
    tokens = (found.get(_GLOBAL_KEY), found.get(version_key))
    body = found.get(body_key)
    if body is not None and None not in tokens and body[0] == tokens and (body[1] is None or body[1] > time.time()):
        return body[2]
    tokens = _ensure_tokens(tokens, version_key)
    fields = build()  # read after the tokens: a write committing from here on replaces them
    expires_at = fields.pop(EXPIRES_AT, None)
    if tokens is not None:
        stamp = expires_at.timestamp() if isinstance(expires_at, datetime) else None
        try:
            cache.set(body_key, (tokens, stamp, fields), settings.MEMBER_CACHE_SECONDS)
        except Exception:  # noqa: BLE001 - not caching is always correct
            logger.warning("Member cache unreachable; %s of partner %s not stored", section, partner_id, exc_info=True)
    return fields


def _ensure_tokens(tokens: tuple, version_key: str) -> tuple | None:
    """Current (global, member) tokens, creating missing ones; None when they cannot be trusted
    (another process created one at the same moment, or the cache is down): build, don't store."""
    global_token, member_token = tokens
    try:
        if global_token is None:
            global_token = _new_token()
            if not cache.add(_GLOBAL_KEY, global_token, None):
                return None
        if member_token is None:
            member_token = _new_token()
            if not cache.add(version_key, member_token, None):
                return None
    except Exception:  # noqa: BLE001 - see member_cached
        return None
    return global_token, member_token


def _strip(fields: dict) -> dict:
    fields.pop(EXPIRES_AT, None)
    return fields


def member_changed(partner_ids: Iterable[int]) -> None:
    """Invalidate these members' cached sections once the current transaction commits (at once
    outside one). Call it from every write that changes what a member's sections show."""
    ids = {int(pk) for pk in partner_ids if pk is not None}
    if ids and cache_enabled():
        transaction.on_commit(partial(_replace_tokens, [_version_key(pk) for pk in ids]), robust=True)


def everyone_changed() -> None:
    """Invalidate every member's cached sections after commit (tree moves and other wide changes)."""
    if cache_enabled():
        transaction.on_commit(partial(_replace_tokens, [_GLOBAL_KEY]), robust=True)


def _replace_tokens(keys: list[str]) -> None:
    try:
        cache.set_many({key: _new_token() for key in keys}, None)
    except Exception:  # noqa: BLE001 - with the cache down nothing is served from it either
        logger.warning("Member cache unreachable; %d token(s) not replaced", len(keys), exc_info=True)
