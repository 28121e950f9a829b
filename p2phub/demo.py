"""The demo network `seed_demo` builds: 30 days of a referral network's life, played through the
real services in time order on a demo clock (time-machine), so every row is genuine: joins and
their referral awards, held fraud reviews, daily check-ins and streaks, tasks, PRO payments with
commissions (held and available), a refund, payouts paid, pending and rejected, and a payment
awaiting staff review.

The plan is deterministic: a second run creates nothing, and an interrupted run resumes with
the members (and their activity) it had not created yet."""

from __future__ import annotations

import hashlib
import heapq
import itertools
import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from p2phub.errors import DomainError
from partners.models import Partner
from partners.notifications import notifications_as_history
from partners.services import SignupContext, partner_join

logger = logging.getLogger(__name__)

DEMO_TELEGRAM_BASE = 990_000_000_000
HISTORY_DAYS = 30
JOIN_DAYS = 26  # members keep joining until four days before today
FIRST_NAMES = [
    "Alex", "Maria", "Ivan", "Olga", "Sam", "Lena", "Max", "Nina", "Leo", "Anna",
    "Dmitri", "Sofia", "Tom", "Eva", "Igor", "Mila", "Oleg", "Kate", "Yuri", "Zoe",
]
LAST_NAMES = ["Petrov", "Smith", "Ivanova", "Brown", "Kuznetsov", "Garcia", "Sokolova", "Miller", "Popov", "Wilson", "Novak", "Lee"]
DEMO_PAYOUT_ADDRESS = "UQDemoPayoutAddressForTheLocalDemoNetworkOnly000000000"


def demo_plan(members: int, seed: int) -> list[int | None]:
    """parents[i] = index of member i's referrer (None for a root). A spine guarantees a chain
    deeper than 12 levels; the rest attach preferentially to recent members, which grows deep,
    bushy downlines like real referral networks."""
    rng = random.Random(seed)
    roots, spine = 5, 16
    parents: list[int | None] = [None] * min(roots, members)
    for i in range(roots, min(roots + spine, members)):
        parents.append(i - 1 if i > roots else 0)
    for i in range(len(parents), members):
        if rng.random() < 0.65:
            parents.append(rng.randrange(max(0, i - 300), i))
        else:
            parents.append(rng.randrange(0, i))
    return parents


def _demo_hash(*parts) -> str:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()


@dataclass
class DemoReport:
    created: int = 0
    kept: int = 0
    done: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)


class _Timeline:
    """Events in time order; ties keep the order they were planned in."""

    def __init__(self) -> None:
        self._heap: list = []
        self._sequence = itertools.count()

    def add(self, when: datetime, kind: str, action) -> None:
        heapq.heappush(self._heap, (when, next(self._sequence), kind, action))

    def __len__(self) -> int:
        return len(self._heap)

    def drain(self):
        while self._heap:
            when, _seq, kind, action = heapq.heappop(self._heap)
            yield when, kind, action


# Actions that are one service call owning its transaction: a refusal rolls back nothing else,
# so they need no savepoint of their own inside the demo day's transaction.
_SELF_CONTAINED = frozenset({"join", "checkin", "task_start", "task_claim"})


class DemoNetwork:
    def __init__(self, *, members: int, pro_share: float, seed: int, admin_password: str, progress=None):
        self.admin_password = admin_password
        self.members = members
        self.pro_share = pro_share
        self.seed = seed
        self.progress = progress or (lambda done, total: None)
        self.now = timezone.now().replace(microsecond=0)
        self.start = (self.now - timedelta(days=HISTORY_DAYS - 1)).replace(hour=8, minute=0, second=0)
        self.telegram_ids = [DEMO_TELEGRAM_BASE + i for i in range(members)]
        self.ids: dict[int, int] = {}  # plan index -> partner id
        self.report = DemoReport()
        self.timeline = _Timeline()
        self.admin = None

    # --- the plan -----------------------------------------------------------------------------
    def _join_time(self, index: int, rng: random.Random, previous: datetime) -> datetime:
        """Members join in plan order (a referrer always before their referrals)."""
        base = self.start + timedelta(days=JOIN_DAYS * index / max(1, self.members))
        jittered = base + timedelta(minutes=rng.randrange(0, 50))
        return min(max(jittered, previous + timedelta(seconds=1)), self.now - timedelta(hours=1))

    def _plan(self, existing: dict[int, int]) -> None:
        parents = demo_plan(self.members, self.seed)
        rng = random.Random(self.seed + 1)
        fresh_run = not existing
        joined = self.start
        for index, parent_index in enumerate(parents):
            # Every random draw happens for every member, so a resumed run plans identically.
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            language = "ru" if rng.random() < 0.4 else "en"
            joined = self._join_time(index, rng, joined)
            buys_pro = rng.random() < self.pro_share
            buy_delay = timedelta(hours=rng.randrange(2, 72))
            checks_in = index < 5 or index % 32 == 0
            checkin_rng = random.Random(self.seed * 7919 + index)
            # A handful of signups share their referrer's device: fraud scoring holds them for review.
            suspicious = parent_index is not None and index > 50 and index % 149 == 0
            if self.telegram_ids[index] in existing:
                self.ids[index] = existing[self.telegram_ids[index]]
                self.report.kept += 1
                continue
            device = f"demo-device-{parent_index if suspicious else index}"
            profile = dict(
                telegram_id=self.telegram_ids[index],
                username=f"{first.lower()}_{last.lower()}_{index}",
                first_name=first,
                last_name=last,
                language=language,
            )
            self.timeline.add(joined, "join", (self._join, index, parent_index, profile, device))
            if buys_pro:
                self.timeline.add(min(joined + buy_delay, self.now - timedelta(minutes=30)), "pro_payment", (self._buy_pro, index))
            if index < 40:
                self.timeline.add(joined + timedelta(minutes=5), "task_start", (self._task_start, index, "invite_1_friend"))
                self.timeline.add(joined + timedelta(minutes=5), "task_start", (self._task_start, index, "invite_3_friends"))
                self.timeline.add(self.now - timedelta(minutes=20), "task_claim", (self._task_claim, index, "invite_1_friend"))
                self.timeline.add(self.now - timedelta(minutes=20), "task_claim", (self._task_claim, index, "invite_3_friends"))
            if checks_in:
                self._plan_checkins(index, joined, checkin_rng)
        if fresh_run:
            self._plan_staff_activity()

    def _plan_checkins(self, index: int, joined: datetime, rng: random.Random) -> None:
        diligence = 1.0 if index < 5 else rng.choice([0.95, 0.85, 0.7])
        self.timeline.add(joined + timedelta(minutes=10), "task_start", (self._task_start, index, "daily_checkin_5"))
        day = joined.replace(hour=0, minute=0, second=0)
        while day <= self.now:
            when = max(day + timedelta(hours=rng.randrange(7, 22), minutes=rng.randrange(60)), joined + timedelta(minutes=1))
            if when <= self.now and rng.random() < diligence:
                self.timeline.add(when, "checkin", (self._checkin, index))
            day += timedelta(days=1)
        self.timeline.add(self.now - timedelta(minutes=15), "task_claim", (self._task_claim, index, "daily_checkin_5"))

    def _plan_staff_activity(self) -> None:
        self.timeline.add(self.start + timedelta(days=20), "refund", (self._refund_one,))
        self.timeline.add(self.now - timedelta(days=2), "payouts", (self._payouts,))
        self.timeline.add(self.now - timedelta(hours=2), "usdt_review", (self._payment_awaiting_review,))

    # --- the actions (each one service call or a short chain of them) -------------------------
    def _partner(self, index: int) -> Partner:
        return Partner.objects.get(pk=self.ids[index])

    def _join(self, index: int, parent_index: int | None, profile: dict, device: str) -> None:
        referrer = self._partner(parent_index) if parent_index is not None else None
        result = partner_join(
            referrer=referrer, signup=SignupContext(channel="seed", device_fingerprint=device), **profile
        )
        self.ids[index] = result.partner.pk
        self.report.created += 1

    def _buy_pro(self, index: int) -> None:
        from payments.services import payment_approve, payment_create, payment_submit_usdt

        partner = self._partner(index)
        payment = payment_create(partner=partner, method="USDT")
        payment_submit_usdt(partner=partner, payment_id=payment.pk, tx_hash=_demo_hash("usdt", index, timezone.now()))
        payment_approve(payment_id=payment.pk, actor=self.admin, note="Demo: confirmed on-chain")

    def _checkin(self, index: int) -> None:
        from rewards.services import checkin_record

        checkin_record(partner=self._partner(index))

    def _task_start(self, index: int, task_id: str) -> None:
        from rewards.services import task_start

        task_start(partner=self._partner(index), task_id=task_id)

    def _task_claim(self, index: int, task_id: str) -> None:
        from rewards.services import task_claim

        task_claim(partner=self._partner(index), task_id=task_id)

    def _refund_one(self) -> None:
        from payments.models import Payment
        from payments.services import payment_refund

        payment = Payment.objects.filter(
            partner__telegram_id__gte=DEMO_TELEGRAM_BASE, status=Payment.Status.COMPLETED
        ).order_by("completed_at").first()
        if payment is None:
            raise DomainError("No completed payment to refund yet.", code="nothing_to_refund")
        payment_refund(payment_id=payment.pk, actor=self.admin, note="Demo: buyer asked for a refund")

    def _payouts(self) -> None:
        from payments.models import USDTEntry
        from payments.selectors import usdt_balances
        from payments.services import payout_approve, payout_reject, payout_request

        earners = (
            USDTEntry.objects.filter(partner__telegram_id__gte=DEMO_TELEGRAM_BASE, available_at__lte=timezone.now())
            .values_list("partner_id", flat=True)
            .distinct()
        )
        ranked = sorted(((usdt_balances(pk).available, pk) for pk in earners), reverse=True)
        minimum = Decimal(settings.PAYOUT_MINIMUM_USDT)
        decisions = ["approve", "approve", "approve", "reject", "pending", "pending"]
        for (available, partner_id), decision in zip(ranked, decisions, strict=False):
            amount = (available * Decimal("0.8")).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
            if amount < minimum:
                break
            partner = Partner.objects.get(pk=partner_id)
            with transaction.atomic():
                payout = payout_request(partner=partner, amount=amount, address=DEMO_PAYOUT_ADDRESS, network="TON")
                if decision == "approve":
                    payout_approve(payout_id=payout.pk, actor=self.admin, tx_hash=_demo_hash("payout", payout.pk))
                elif decision == "reject":
                    payout_reject(payout_id=payout.pk, actor=self.admin, note="Demo: address failed the checks")
            self.report.done[f"payout_{decision}"] += 1

    def _payment_awaiting_review(self) -> None:
        from payments.services import payment_create, payment_submit_usdt

        partner = Partner.objects.filter(telegram_id__gte=DEMO_TELEGRAM_BASE, is_pro=False).order_by("pk").first()
        if partner is None:
            raise DomainError("Every demo member is PRO already.", code="nothing_to_review")
        payment = payment_create(partner=partner, method="USDT")
        payment_submit_usdt(partner=partner, payment_id=payment.pk, tx_hash=_demo_hash("review", partner.pk))

    # --- running it ---------------------------------------------------------------------------
    def run(self) -> DemoReport:
        self.admin = _ensure_admin_user(self.admin_password)
        existing = dict(Partner.objects.filter(telegram_id__in=self.telegram_ids).values_list("telegram_id", "pk"))
        self._plan(existing)
        total, step = len(self.timeline), 0
        current_day = None
        outer = None
        # The demo's notifications are 30 days of history: listed in-app, never sent.
        with time_machine.travel(self.start, tick=False) as clock, notifications_as_history():
            try:
                for when, kind, action in self.timeline.drain():
                    # One transaction a demo day: SQLite then syncs to disk 30 times, not 20,000.
                    if when.date() != current_day:
                        if outer is not None:
                            outer.__exit__(None, None, None)
                        outer = transaction.atomic()
                        outer.__enter__()
                        current_day = when.date()
                    clock.move_to(when)
                    self._perform(kind, action)
                    step += 1
                    if step % 50 == 0 or step == total:
                        self.progress(step, total)
            except BaseException as error:
                if outer is not None:
                    outer.__exit__(type(error), error, error.__traceback__)
                raise
            if outer is not None:
                outer.__exit__(None, None, None)
        return self.report

    def _perform(self, kind: str, action) -> None:
        function, *args = action
        if kind != "join" and any(isinstance(a, int) and a not in self.ids for a in args[:1]):
            self.report.skipped[kind] += 1  # its member was not created (kept from an earlier run)
            return
        try:
            if kind in _SELF_CONTAINED:
                function(*args)
            else:
                with transaction.atomic():
                    function(*args)
        except DomainError as error:
            # A rule said no (a task not yet met, nothing to refund): that is the demo being real.
            self.report.skipped[f"{kind}: {error.code}"] += 1
            return
        if kind not in ("payouts",):
            self.report.done[kind] += 1


def _ensure_admin_user(password: str):
    User = get_user_model()
    admin = User.objects.filter(username="admin").first()
    if admin is None:
        admin = User.objects.create_superuser(username="admin", email="admin@example.com", password=password)
    return admin
