"""Every state change of a partner: joining the tree, profile updates, staff moves and status."""

import logging
import secrets
from dataclasses import dataclass, replace

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Q, Subquery
from django.utils import timezone
from treebeard.exceptions import PathOverflow

from audit.models import EventType
from audit.services import AuditEntry, audit_record, audit_record_many
from p2phub.db import run_with_transaction_retry
from p2phub.errors import ConflictError, DomainError
from partners.eligibility import partner_eligibility_changed
from partners.links import DIRECT, parse_referral_ref
from partners.member_cache import everyone_changed
from partners.models import Partner, PendingAttribution

logger = logging.getLogger(__name__)

REFERRAL_CODE_PREFIX = "P2P-"
_CODE_ATTEMPTS = 8
_ROOTS_LOCK_KEY = 0x50325048_0000001  # serializes root creation on PostgreSQL


class ReferralCycleError(DomainError):
    code = "referral_cycle"


@dataclass(frozen=True)
class SignupContext:
    """What is known about the request a member joined through (for fraud scoring)."""

    ip: str | None = None
    user_agent: str = ""
    device_fingerprint: str = ""
    channel: str = "mini_app"  # mini_app | web | bot | seed | staff
    client_started_at: float | None = None  # unix time the client says the flow began
    # The platform the invitation was shared on (referrals' per-platform funnel). Left empty,
    # it is read from the code's platform tag (`P2P-7F3A9C21_wa`, see partners.links).
    platform: str = ""


@dataclass(frozen=True)
class JoinResult:
    partner: Partner
    created: bool
    referrer: Partner | None
    unknown_referral_code: bool = False


# Telegram caps start_param (and the bot's /start payload) at 64 characters.
_MAX_CODE_INPUT = 64
_CODE_HEX = frozenset("0123456789ABCDEF")


def normalize_referral_code(code: str | None) -> str:
    """What the member sent, trimmed and upper-cased (codes are case-insensitive), never cut
    down to a code's length: a longer value is not a code, so it must not become someone else's
    by truncation (`P2P-7F3A9C21X` is unknown, not `P2P-7F3A9C21`). A value that merely carries
    a code plus extras (a future `P2P-7F3A9C21_wa` platform tag) is split by its parser before
    the lookup."""
    return (code or "").strip().upper()[:_MAX_CODE_INPUT]


def referral_code_is_valid(code: str) -> bool:
    """Exactly the shape `generate_referral_code` makes: `P2P-` + 8 upper-case hex characters."""
    prefix = len(REFERRAL_CODE_PREFIX)
    return len(code) == prefix + 8 and code.startswith(REFERRAL_CODE_PREFIX) and set(code[prefix:]) <= _CODE_HEX


def generate_referral_code() -> str:
    return f"{REFERRAL_CODE_PREFIX}{secrets.token_hex(4).upper()}"


def partner_find_by_code(code: str | None) -> Partner | None:
    """The member a code (or a code with a platform tag, see partners.links) names."""
    normalized = parse_referral_ref(code).code
    if not normalized:
        return None
    return Partner.objects.filter(referral_code=normalized).first()


# --- Tree locks (PostgreSQL) -------------------------------------------------------------------
# A staff move rewrites the path of every node in the moved subtree in one statement. A join
# that computed its child path from the old prefix and committed meanwhile would hang under
# nothing (an orphan), and the two would deadlock on each other's row locks. So moves and joins
# exclude each other through transaction-level advisory locks keyed on the top-level path
# segment (the root's tree): a join holds its tree SHARED (joins never wait for each other), a
# move holds the trees it leaves and enters EXCLUSIVE. Lock order, everywhere: tree locks first
# (several in ascending key order), then rows; a move locks its subtree rows in descending path
# order (every node before its ancestors), the order in which joins and payments lock a node and
# then its ancestors. Foreign keys are checked at once (see below). SQLite serializes
# every write transaction anyway (IMMEDIATE mode), so nothing is needed there.
_TREE_LOCK_CLASS = 0x50325054  # "P2PT": the (int4, int4) advisory key space, apart from bigint keys
_TREE_LOCK_ATTEMPTS = 8
# 1024 path characters at 4 per level (SPEC §1): the deepest level treebeard can store.
MAX_TREE_DEPTH = Partner._meta.get_field("path").max_length // Partner.steplen


class TreeDepthError(DomainError):
    code = "tree_too_deep"


def _tree_key(path: str) -> int:
    # The alphabet of treebeard's paths is base 36; 4 characters stay below 2**31.
    return int(path[: Partner.steplen], 36)


def _tree_locks_acquire(read_paths, *, exclusive: bool) -> list[str]:
    """Lock the trees of the paths `read_paths()` returns and return those paths, read again
    under the locks (so they are current until commit). If a move changed a path's tree between
    the read and the lock, the stale locks are dropped (their savepoint is rolled back) before
    trying again, so no one ever waits for a tree lock while holding another."""
    if connection.vendor != "postgresql":
        return read_paths()
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    for _attempt in range(_TREE_LOCK_ATTEMPTS):
        keys = sorted({_tree_key(path) for path in read_paths()})
        savepoint = transaction.savepoint()
        with connection.cursor() as cursor:
            for key in keys:
                cursor.execute(f"SELECT {function}(%s, %s)", [_TREE_LOCK_CLASS, key])
        paths = read_paths()
        if sorted({_tree_key(path) for path in paths}) == keys:
            transaction.savepoint_commit(savepoint)
            return paths
        transaction.savepoint_rollback(savepoint)  # releases the locks taken in it
    raise ConflictError("The tree is being reorganized; please retry.", code="tree_busy")


def _current_path(partner_id: int) -> str:
    return Partner.objects.filter(pk=partner_id).values_list("path", flat=True).get()


def _foreign_keys_checked_now() -> None:
    """Django's PostgreSQL foreign keys are DEFERRABLE INITIALLY DEFERRED: the key-share lock on
    each referenced partner is taken at COMMIT, i.e. after the audit chain lock the transaction
    takes last. A join under a parent P (holding P's row lock, waiting for the chain) and a join
    deeper under P (holding the chain, its commit waiting for a key-share lock on its ancestor
    P) then deadlocked. Checked at each statement instead, every row lock of a join or move is
    taken before the chain lock, and locks only ever go up the tree: no cycle."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class _ReferrerMoved(Exception):
    """The referrer's path left the tree whose lock this attempt took: run the join again,
    under the lock of the tree it is in now (a fresh transaction, so no lock is held while
    waiting for another)."""

    def __init__(self, path: str):
        super().__init__(path)
        self.path = path


class _JoinAsRoot(Exception):
    """The referrer cannot take another child (no step left after its last child's path): run
    the join again as a root (nothing of this attempt is kept)."""


class _AwardStepFailed(Exception):
    """Something after the member's row failed in the one-transaction join: run it again with
    the award step isolated in a savepoint (see partner_join)."""


def _child_insert(referrer: Partner, candidate: Partner, path_hint: str) -> Partner | None:
    """Insert the candidate as the referrer's last child; None when the referrer is at the
    deepest storable level (nothing written).

    Statements: the referrer's tree lock (shared, PostgreSQL); `UPDATE ... numchild + 1
    RETURNING path, depth, numchild`, which locks the referrer's row (FOR NO KEY UPDATE: joins
    under one referrer queue here, and nobody else's key-share locks on it wait) and returns its
    path as committed now, read after the tree lock (a statement of its own, so its snapshot is
    younger than the lock); the last child's path (only when there were children; its own
    statement again, taken under the row lock, so every sibling committed before is seen and
    none can be added until this transaction ends); the INSERT. The child path is treebeard's
    (`_get_path` for a first child, `_inc_path` of the last child), the same tree a treebeard
    `add_child` would build, without its second read of the parent and its savepoint."""
    table = connection.ops.quote_name(Partner._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            key = _tree_key(path_hint)
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", [_TREE_LOCK_CLASS, key])
        cursor.execute(
            f"UPDATE {table} SET numchild = numchild + 1 WHERE id = %s AND depth < %s RETURNING path, depth, numchild",
            [referrer.pk, MAX_TREE_DEPTH],
        )
        row = cursor.fetchone()
    if row is None:
        return None  # at the depth limit (partners are never deleted)
    path, depth, numchild = row
    if connection.vendor == "postgresql" and _tree_key(path) != key:
        raise _ReferrerMoved(path)
    if numchild == 1:
        child_path = Partner._get_path(path, depth + 1, 1)
    else:
        low, high = Partner._get_children_path_interval(path)
        last = (
            Partner.objects.filter(depth=depth + 1, path__range=(low, high))
            .order_by("-path")
            .values_list("path", flat=True)
            .first()
        )
        try:
            child_path = Partner(path=last)._inc_path() if last else Partner._get_path(path, depth + 1, 1)
        except PathOverflow as error:
            raise _JoinAsRoot(str(error)) from error
    referrer.path, referrer.depth, referrer.numchild = path, depth, numchild
    candidate.path, candidate.depth, candidate.numchild = child_path, depth + 1, 0
    candidate.save(force_insert=True)
    return candidate


def _insert_node(referrer: Partner | None, candidate: Partner, path_hint: str = "") -> Partner:
    """Add the candidate under the referrer (the referrer's tree locked shared, see above), or
    as a root.

    Depth limit: a referrer at the deepest storable level (256) cannot get a child. Refusing the
    join would lock that person out for good (every first request carries the same code), and
    attaching them higher up would pay an upline that did not refer them. So the member joins as
    a root, like an unknown code: no referrer, no awards; `candidate.referral_refused` says why
    and a warning is logged. Chains this deep exist only when built on purpose."""
    if referrer is not None:
        node = _child_insert(referrer, candidate, path_hint or referrer.path)
        if node is not None:
            return node
        logger.warning("Join under partner %s refused, joining as a root: maximum depth %s", referrer.pk, MAX_TREE_DEPTH)
        candidate.referrer = None
        candidate.referral_refused = "depth_limit"
    if connection.vendor == "postgresql":
        # add_root() reads the last root without a lock; concurrent roots would collide.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ROOTS_LOCK_KEY])
    return Partner.objects.add_root(instance=candidate)


@dataclass(frozen=True)
class _Lookup:
    existing: Partner | None = None
    referrer: Partner | None = None
    referral_code: str | None = None  # the pending /start code, when that is what names the referrer
    pending: bool | None = None  # does the bot's pending attribution exist (None: not known)


def _join_lookup(*, telegram_id: int | None, code: str, referrer: Partner | None) -> _Lookup:
    """One statement before the join: the member this Telegram id already is (the join returns
    it), the referrer the code names (or the given one, re-read for a current path) and whether
    the bot left a pending `/start` attribution for this user (the join consumes it). Without a
    code or referrer, the referrer is the one the pending code names, in the same statement."""
    pending_rows = PendingAttribution.objects.filter(telegram_id=telegram_id)
    if referrer is None and not code:
        if telegram_id is None:
            return _Lookup()
        pending_code = Subquery(pending_rows.values("referral_code")[:1])
        rows = list(
            Partner.objects.filter(Q(telegram_id=telegram_id) | Q(referral_code=pending_code)).annotate(
                pending_code=pending_code
            )
        )
        if not rows:  # nobody matched: a pending code, if any, names no member (read it for the audit)
            code = pending_rows.values_list("referral_code", flat=True).first()
            return _Lookup(referral_code=code, pending=code is not None)
        code = rows[0].pending_code
        return _Lookup(
            existing=next((row for row in rows if row.telegram_id == telegram_id), None),
            referrer=next((row for row in rows if code and row.referral_code == code), None),
            referral_code=code,
            pending=code is not None,
        )
    if referrer is not None:
        wanted = Q(pk=referrer.pk)
    else:
        code = parse_referral_ref(code).code  # a platform tag is not part of the code
        wanted = Q(referral_code=code) if code else Q(pk__in=[])
    if telegram_id is None:
        if referrer is not None:
            return _Lookup(referrer=referrer)
        return _Lookup(referrer=Partner.objects.filter(wanted).first() if code else None)
    rows = list(Partner.objects.filter(wanted | Q(telegram_id=telegram_id)).annotate(pending=Exists(pending_rows)))
    existing = next((row for row in rows if row.telegram_id == telegram_id), None)
    named = next((row for row in rows if row.telegram_id != telegram_id), None)
    if referrer is not None and named is not None:
        referrer.path = named.path  # the caller's object, with the path as committed now
        named = referrer
    return _Lookup(existing=existing, referrer=named, pending=rows[0].pending if rows else None)


def partner_join(
    *,
    referral_code: str | None = None,
    referrer: Partner | None = None,
    telegram_id: int | None = None,
    user=None,
    username: str = "",
    first_name: str = "",
    last_name: str = "",
    language: str = Partner.Language.EN,
    photo_url: str = "",
    signup: SignupContext | None = None,
) -> JoinResult:
    """The signup use case: every way in (Mini App first request, bot, web sign-in, seed_demo,
    admin) creates a member through here, under the referrer named by `referral_code` (or given
    directly; for a Telegram user without either, the bot's pending `/start <code>`).

    In one transaction: the tree node, the referral awards of the ancestors (paid, withheld or
    held for review, with their notifications), the pending attribution consumed, and the join's
    single audit append. An unknown code makes a root and says so. An existing Telegram identity
    is returned as it is: the referrer is fixed at creation.

    A join under a referrer runs as one all-or-nothing transaction without savepoints (a root
    keeps treebeard's `add_root`, savepoint included). If anything after the member's row fails
    (a statement timeout on one ancestor's ledger row, a bug in a notification), that attempt is
    rolled back whole and the join runs again at once with the award step isolated in a
    savepoint, row by row where the batch fails: exactly what an award failure did before (the
    others paid, a `ReferralAwardRetry` committed with the member), at the cost of one
    rolled-back attempt in that rare case.
    """
    signup = signup or SignupContext()
    normalized_code = normalize_referral_code(referral_code)
    attribution = "referrer" if referrer is not None else ("code" if normalized_code else "none")
    found = _join_lookup(telegram_id=telegram_id, code=normalized_code, referrer=referrer)
    if found.existing is not None:
        return JoinResult(partner=found.existing, created=False, referrer=None)
    if referrer is None and not normalized_code and telegram_id is not None:
        attribution = "pending" if found.pending else "none"
        referral_code = found.referral_code
        normalized_code = normalize_referral_code(referral_code)
    referrer = found.referrer if referrer is None else referrer
    if not signup.platform:
        signup = replace(signup, platform=parse_referral_ref(referral_code).platform if referral_code else DIRECT)
    unknown_code = bool(normalized_code) and referrer is None
    language = language if language in Partner.Language.values else Partner.Language.EN
    profile = {
        "telegram_id": telegram_id,
        "user": user,
        "username": username[:64],
        "first_name": first_name[:128],
        "last_name": last_name[:128],
        "language": language,
        "photo_url": photo_url[:512],
    }
    # Which way the next attempt runs: under whom (a path hint for the tree lock), whether the
    # award step is isolated.
    plan = {"referrer": referrer, "path_hint": referrer.path if referrer is not None else "", "isolated": False, "refused": ""}

    def insert_and_award():
        from referrals.services import referral_awards_for_join

        candidate = Partner(
            **profile, referral_code=generate_referral_code(), referrer=plan["referrer"], joined_at=timezone.now()
        )
        if plan["refused"]:
            candidate.referral_refused = plan["refused"]
        isolated = plan["isolated"]
        with transaction.atomic():
            if isolated:
                _foreign_keys_checked_now()
            partner = _insert_node(plan["referrer"], candidate, plan["path_hint"])
            try:
                entries = _join_audit_entries(partner, plan["referrer"], signup, attribution, unknown_code, normalized_code)
                drafts: list = []
                # referrals builds on partners (it imports our models and selectors), so the signup
                # reaches it through this one function-local import instead of a module-level cycle.
                entries.extend(
                    referral_awards_for_join(partner=partner, signup=signup, notifications=None if isolated else drafts)
                )
                if telegram_id is not None:
                    if found.pending is not False:  # known to be absent: nothing to consume
                        PendingAttribution.objects.filter(telegram_id=telegram_id).delete()
                    if signup.channel in WELCOMED_CHANNELS:
                        drafts.append(_welcome_draft(partner))
                _notifications_store(drafts)
                # The rows this join's foreign keys reference are locked already: the referrer
                # by the numchild update, every ancestor FOR KEY SHARE by the award step's
                # ancestors read, the rest are the new member's own rows. So the deferred checks
                # wait for nobody at COMMIT, and no SET CONSTRAINTS is needed before the audit
                # chain head (a web sign-in's Django user row is not covered: checked as before).
                audit_record_many(entries, foreign_keys_locked=not isolated and user is None)
            except Exception as error:
                if isolated:
                    raise
                raise _AwardStepFailed(repr(error)) from error
        placed_under = plan["referrer"] if partner.referrer_id is not None else None
        return JoinResult(partner=partner, created=True, referrer=placed_under, unknown_referral_code=unknown_code)

    collisions = moves = 0
    while True:
        try:
            # A join that PostgreSQL picks as a deadlock victim runs again instead of failing.
            return run_with_transaction_retry(insert_and_award, label="partner_join")
        except _ReferrerMoved as moved:
            moves += 1
            if moves >= _TREE_LOCK_ATTEMPTS:
                raise ConflictError("The tree is being reorganized; please retry.", code="tree_busy") from None
            plan["path_hint"] = moved.path
        except _JoinAsRoot as error:
            logger.warning("Join under partner %s refused, joining as a root: %s", plan["referrer"].pk, error)
            plan.update(referrer=None, path_hint="", refused="depth_limit")
        except _AwardStepFailed as error:
            logger.warning("Join: the award step failed (%s); running the join again with it isolated", error)
            plan["isolated"] = True
        except IntegrityError:
            # Either the same Telegram user joined concurrently (their row is committed now and
            # wins), or the random code / a root path collided (try again with fresh values).
            if telegram_id is not None:
                existing = Partner.objects.filter(telegram_id=telegram_id).first()
                if existing:
                    return JoinResult(partner=existing, created=False, referrer=None)
            collisions += 1
            logger.info("partner_join retry %s after a unique collision", collisions)
            if collisions >= _CODE_ATTEMPTS:
                raise ConflictError("Could not allocate a unique referral code; please retry.", code="join_conflict") from None


def _join_audit_entries(partner, referrer, signup, attribution, unknown_code, normalized_code) -> list[AuditEntry]:
    placed_under = referrer if partner.referrer_id is not None else None
    metadata = {"channel": signup.channel, "depth": partner.depth, "attribution": attribution}
    if getattr(partner, "referral_refused", ""):
        metadata["referral_refused"] = partner.referral_refused
    entries = [
        AuditEntry(
            EventType.PARTNER_JOINED,
            partner_id=partner.pk,
            related_partner_id=placed_under.pk if placed_under else None,
            metadata=metadata,
        )
    ]
    if unknown_code:
        entries.append(
            AuditEntry(EventType.REFERRAL_ATTRIBUTION_UNKNOWN_CODE, partner_id=partner.pk, metadata={"code": normalized_code})
        )
    return entries


# Joins that greet the new member in Telegram with their own links (not seeds, staff or tests).
WELCOMED_CHANNELS = frozenset({"mini_app", "web", "bot"})


def _welcome_draft(partner: Partner):
    from partners.links import bot_link, mini_app_link, web_link
    from partners.notifications import Kind, NotificationDraft

    code = partner.referral_code
    return NotificationDraft(
        partner_id=partner.pk,
        kind=Kind.WELCOME,
        params={
            "name": partner.first_name or partner.display_name,
            "bot_link": bot_link(code),
            "app_link": mini_app_link(code),
            "web_link": web_link(code),
        },
        data={"referral_code": code},
        dedupe_key=f"welcome:{partner.pk}",
        language=partner.language,
    )


def _notifications_store(drafts: list) -> None:
    """The join's notifications in one INSERT: the welcome and the recipients' referral and
    level-up messages (the award step hands its drafts here instead of storing them)."""
    if drafts:
        from partners.notifications import notifications_create

        notifications_create(drafts)


def pending_attribution_record(*, telegram_id: int, referral_code: str) -> None:
    """The bot saw `/start <code>` from a Telegram user who may not have opened the Mini App yet."""
    code = parse_referral_ref(referral_code).code  # a platform tag is dropped (the row keeps a code)
    if not code or Partner.objects.filter(telegram_id=telegram_id).exists():
        return
    PendingAttribution.objects.update_or_create(telegram_id=telegram_id, defaults={"referral_code": code})


def partner_telegram_block(*, partner_id: int, description: str = "") -> bool:
    """Telegram answered 403 for this member (they blocked the bot, or never started it): their
    Telegram messages are off until they /start the bot again, and their other pending
    notifications are closed as `blocked`. Audited once per switch-off; True when it switched."""
    from partners.models import Delivery, Notification

    now = timezone.now()
    with transaction.atomic():
        switched = Partner.objects.filter(pk=partner_id, telegram_blocked_at__isnull=True).update(
            telegram_blocked_at=now, updated_at=now
        )
        Notification.objects.filter(partner_id=partner_id, delivery=Delivery.PENDING).update(
            delivery=Delivery.BLOCKED, last_error="member blocked the bot"
        )
        if switched:
            audit_record(
                EventType.TELEGRAM_BLOCKED, partner_id=partner_id, metadata={"description": description[:200]}
            )
    return bool(switched)


def partner_telegram_unblock(*, partner: Partner, source: str = "start") -> bool:
    """The member talked to the bot again (/start, or unblocked it): messages resume (audited).
    Notifications closed as `blocked` meanwhile stay closed (old news); new ones are sent."""
    with transaction.atomic():
        resumed = Partner.objects.filter(pk=partner.pk, telegram_blocked_at__isnull=False).update(
            telegram_blocked_at=None, updated_at=timezone.now()
        )
        if resumed:
            partner.telegram_blocked_at = None
            audit_record(
                EventType.PARTNER_UPDATED,
                partner_id=partner.pk,
                metadata={"changes": {"telegram_messages": "resumed"}, "source": source},
            )
    return bool(resumed)


def partner_sync_telegram_profile(*, partner: Partner, telegram_user) -> None:
    """Keep names and photo in step with Telegram; writes only when something changed."""
    changes = {
        field: value
        for field, value in (
            ("username", telegram_user.username),
            ("first_name", telegram_user.first_name),
            ("last_name", telegram_user.last_name),
            ("photo_url", telegram_user.photo_url),
        )
        if value and getattr(partner, field) != value
    }
    if changes:
        Partner.objects.filter(pk=partner.pk).update(**changes, updated_at=timezone.now())
        for field, value in changes.items():
            setattr(partner, field, value)
        partner_eligibility_changed(partner.pk)  # the boards show the new name


def partner_update_preferences(*, partner: Partner, **changes) -> Partner:
    allowed = {"language", "notifications_enabled", "leaderboard_visibility"}
    changes = {k: v for k, v in changes.items() if k in allowed and getattr(partner, k) != v}
    if not changes:
        return partner
    with transaction.atomic():
        for field, value in changes.items():
            setattr(partner, field, value)
        partner.save(update_fields=[*changes, "updated_at"])
        if "leaderboard_visibility" in changes:
            partner_eligibility_changed(partner.pk)  # opt-out / masked name: boards re-sync after commit
        audit_record(EventType.PARTNER_UPDATED, partner_id=partner.pk, metadata={"changes": changes})
    return partner


def partner_move(*, partner: Partner, new_referrer: Partner, actor) -> Partner:
    """Staff move a member (with their subtree) under another sponsor. Past XP and commissions
    stay as they were paid; only future awards follow the new tree.

    Safe while members join anywhere in the moved subtree (SPEC §1): the move holds the trees it
    leaves and enters exclusively (see the tree locks above), so every join there commits wholly
    before it or starts after it. Run again if PostgreSQL picks it as a deadlock victim."""
    partner_id, new_referrer_id = partner.pk, new_referrer.pk
    return run_with_transaction_retry(
        lambda: _partner_move_once(partner_id, new_referrer_id, actor), label="partner_move"
    )


def _partner_move_once(partner_id: int, new_referrer_id: int, actor) -> Partner:
    with transaction.atomic():
        if new_referrer_id == partner_id:
            raise ReferralCycleError("A member cannot be moved under themself or their own downline.")
        _foreign_keys_checked_now()
        _tree_locks_acquire(lambda: [_current_path(partner_id), _current_path(new_referrer_id)], exclusive=True)
        partner = Partner.objects.get(pk=partner_id)
        new_referrer = Partner.objects.get(pk=new_referrer_id)
        if new_referrer.path.startswith(partner.path):
            raise ReferralCycleError("A member cannot be moved under themself or their own downline.")
        old_referrer_id = partner.referrer_id
        if old_referrer_id == new_referrer.pk:
            return partner
        subtree = Partner.objects.filter(path__startswith=partner.path)
        # Row locks in descending path order, every node before its ancestors (as a payment
        # locks its buyer, then the buyer's ancestors), so the two never wait in a cycle.
        deepest = max(subtree.select_for_update().order_by("-path").values_list("depth", flat=True))
        # The sponsor's numchild changes (a no-key lock: it does not block new referrals' FKs).
        Partner.objects.select_for_update(no_key=True).filter(pk=new_referrer.pk).values_list("pk").get()
        if deepest - partner.depth + new_referrer.depth + 1 > MAX_TREE_DEPTH:
            raise TreeDepthError(
                f"The moved downline would be deeper than the tree allows ({MAX_TREE_DEPTH} levels)."
            )
        Partner.objects.move(partner, new_referrer, "last-child")
        Partner.objects.filter(pk=partner.pk).update(referrer=new_referrer)
        everyone_changed()  # every downline count above the old and the new position
        audit_record(
            EventType.PARTNER_MOVED,
            partner_id=partner.pk,
            related_partner_id=new_referrer.pk,
            actor=actor,
            metadata={"from_referrer_id": old_referrer_id, "to_referrer_id": new_referrer.pk},
        )
    partner.refresh_from_db()
    return partner


_STATUS_EVENTS = {
    Partner.Status.ACTIVE: EventType.PARTNER_REACTIVATED,
    Partner.Status.DEACTIVATED: EventType.PARTNER_DEACTIVATED,
    Partner.Status.BANNED: EventType.PARTNER_BANNED,
}


def partner_set_status(*, partner: Partner, status: str, actor, reason: str = "") -> Partner:
    if status not in _STATUS_EVENTS:
        raise DomainError(f"Unknown status {status!r}.", code="invalid_status")
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        if partner.status == status:
            return partner
        previous = partner.status
        partner.status = status
        partner.save(update_fields=["status", "updated_at"])
        partner_eligibility_changed(partner.pk)  # banned / deactivated / back: boards re-sync after commit
        audit_record(
            _STATUS_EVENTS[status],
            partner_id=partner.pk,
            actor=actor,
            metadata={"from": previous, "to": status, "reason": reason[:500]},
        )
    return partner
