"""Read caches with exact invalidation by token: a cached body is served only while the tokens
it was built under are still the current ones, and every write that changes what the body shows
replaces a token (after its commit). The member cache (partners.member_cache) and the
leaderboard tops (rewards.leaderboards) are built on it.

Why it stays right:
* Tokens are random, not counters, so a token lost to eviction or a Redis restart can never
  come back and re-validate an old body.
* A reader reads the tokens *before* it reads the database and stores its body tagged with
  them. A write that commits meanwhile replaces a token after its commit, so the body it raced
  with is tagged with a dead token and is never served.
* Time changes some answers without any write (a streak that lapses at midnight, held USDT that
  becomes available, a PRO period ending): a builder returns that moment with its fields under
  `EXPIRES_AT` and the body is not served past it.
* `stamp`: values the caller has just read live (e.g. the member row's tree path and PRO expiry)
  that the body was built from; a body built from other values is not served.
* Only a cache shared by every server process (Redis) may hold these bodies: a per-process
  memory cache cannot see other processes' token changes. Whenever the cache fails (django-redis
  fails open: a read is a miss), the body is built from the database. A body's lifetime only
  bounds one whose token replacement was lost because Redis was unreachable at that moment.
"""

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

# A builder may put the moment its answer stops being true under this key; it is not returned.
EXPIRES_AT = "__expires_at__"


def _new_token() -> str:
    return uuid.uuid4().hex


def token_cached(token_keys: tuple[str, ...], body_key: str, build: Callable[[], dict], *, stamp: tuple = (), timeout: int) -> dict:
    """The cached body when its tokens are current, it has not expired and it was built from the
    same `stamp`; else `build()`, stored for the next reader. One cache round trip on a hit."""
    try:
        found = cache.get_many([*token_keys, body_key])
    except Exception:  # noqa: BLE001 - a cache that raises is a miss (SPEC §14)
        logger.warning("Cache unreachable; building %s", body_key, exc_info=True)
        return strip_expiry(build())
    tokens = tuple(found.get(key) for key in token_keys)
    body = found.get(body_key)
    if (
        body is not None
        and None not in tokens
        and body[0] == tokens
        and body[1] == stamp
        and (body[2] is None or body[2] > time.time())
    ):
        return body[3]
    tokens = _ensure_tokens(token_keys, tokens)
    fields = build()  # read after the tokens: a write committing from here on replaces one
    expires_at = fields.pop(EXPIRES_AT, None)
    if tokens is not None:
        expires = expires_at.timestamp() if isinstance(expires_at, datetime) else None
        try:
            cache.set(body_key, (tokens, stamp, expires, fields), timeout)
        except Exception:  # noqa: BLE001 - not caching is always correct
            logger.warning("Cache unreachable; %s not stored", body_key, exc_info=True)
    return fields


def _ensure_tokens(token_keys: tuple[str, ...], tokens: tuple) -> tuple | None:
    """The current tokens, creating missing ones; None when they cannot be trusted (another
    process created one at the same moment, or the cache is down): build, don't store."""
    current = list(tokens)
    try:
        for index, (key, token) in enumerate(zip(token_keys, tokens, strict=True)):
            if token is None:
                current[index] = _new_token()
                if not cache.add(key, current[index], None):
                    return None
    except Exception:  # noqa: BLE001 - see token_cached
        return None
    return tuple(current)


def strip_expiry(fields: dict) -> dict:
    fields.pop(EXPIRES_AT, None)
    return fields


def tokens_replace(keys: Iterable[str]) -> None:
    """Replace these tokens now (after the write they cover has committed)."""
    keys = list(keys)
    try:
        cache.set_many({key: _new_token() for key in keys}, None)
    except Exception:  # noqa: BLE001 - with the cache down nothing is served from it either
        logger.warning("Cache unreachable; %d token(s) not replaced", len(keys), exc_info=True)


def tokens_replace_after_commit(keys: Iterable[str]) -> None:
    """Replace these tokens once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(tokens_replace, list(keys)), robust=True)
