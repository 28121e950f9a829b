"""Per-member read cache (p2phub.token_cache): what `/api/v1/me/`, `/me/network/`, the bot's
/stats and the dashboard home show of a member's ledgers, streak, badges, downline and
notifications, kept in the shared cache under the member's token and one global token.

Every write that changes what a section shows calls `member_changed(ids)` inside its
transaction (the XP and USDT ledger writers, the check-in, notifications stored or read, a join
for the new member's ancestors); `everyone_changed()` covers changes to an unbounded set of
members (a subtree moved to another sponsor). On with Redis only (MEMBER_CACHE_SECONDS > 0).
"""

from collections.abc import Callable, Iterable

from django.conf import settings

from p2phub.token_cache import EXPIRES_AT, strip_expiry, token_cached, tokens_replace_after_commit

__all__ = ["EXPIRES_AT", "cache_enabled", "everyone_changed", "member_cached", "member_changed"]

_GLOBAL_KEY = "member-cache:all"


def _token_key(partner_id: int) -> str:
    return f"member-cache:v:{partner_id}"


def cache_enabled() -> bool:
    return settings.MEMBER_CACHE_SECONDS > 0


def member_cached(section: str, partner_id: int, build: Callable[[], dict], *, stamp: tuple = ()) -> dict:
    """The section's fields for one member, from the cache while current, else `build()`."""
    if not cache_enabled():
        return strip_expiry(build())
    return token_cached(
        (_GLOBAL_KEY, _token_key(partner_id)), f"member-cache:{section}:{partner_id}", build,
        stamp=stamp, timeout=settings.MEMBER_CACHE_SECONDS,
    )


def member_changed(partner_ids: Iterable[int]) -> None:
    """Invalidate these members' cached sections once the current transaction commits."""
    ids = {int(pk) for pk in partner_ids if pk is not None}
    if ids and cache_enabled():
        tokens_replace_after_commit(_token_key(pk) for pk in ids)


def everyone_changed() -> None:
    """Invalidate every member's cached sections after commit."""
    if cache_enabled():
        tokens_replace_after_commit([_GLOBAL_KEY])
