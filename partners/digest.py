"""The hourly digest of deep (L3-L9) network activity (SPEC §9): a leader whose downline keeps
growing gets at most one Telegram message an hour about it, however many members joined.

Each signup stores a REFERRAL_DEEP notification for every L3-L9 ancestor (the in-app copy);
delivery leaves those `pending`. Once an hour (Celery beat, `referral-digests`) every leader with
such rows gets one REFERRAL_DIGEST notification listing them per level — that one is sent like
any other — and the rows it covers become `digested`, pointing at it. The digest's dedupe key
names the leader and the hour, so a second run within the same hour stores nothing (and leaves
the rows for the next one).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from partners.models import Delivery, Notification, Partner
from partners.notifications import Kind, NotificationDraft, notifications_create

NAMES_PER_LEVEL = 5
LEADERS_PER_TRANSACTION = 500


def _details(rows: list[dict], names: dict[int, str], language: str) -> str:
    by_level: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        level = int(row["data"].get("level") or 0)
        by_level[level].append(names.get(row["data"].get("new_member_id"), "?"))
    lines = []
    with translation.override(language):
        for level in sorted(by_level):
            members = by_level[level]
            shown = ", ".join(members[:NAMES_PER_LEVEL])
            more = len(members) - NAMES_PER_LEVEL
            if more > 0:
                shown += " " + ngettext("and %(count)s more", "and %(count)s more", more) % {"count": more}
            lines.append(_("Level %(level)s: %(members)s") % {"level": level, "members": shown})
    return "\n".join(lines)


def referral_digests_create(*, now: datetime | None = None) -> int:
    """One digest per leader with undigested L3-L9 activity up to `now`; returns how many."""
    now = now or timezone.now()
    hour = now.strftime("%Y%m%d%H")
    pending = Notification.objects.filter(kind=Kind.REFERRAL_DEEP, delivery=Delivery.PENDING, created_at__lte=now)
    leaders = sorted(set(pending.values_list("partner_id", flat=True)))
    created = 0
    for start in range(0, len(leaders), LEADERS_PER_TRANSACTION):
        chunk = leaders[start : start + LEADERS_PER_TRANSACTION]
        with transaction.atomic():
            rows = list(pending.filter(partner_id__in=chunk).order_by("id").values("id", "partner_id", "data"))
            member_ids = {row["data"].get("new_member_id") for row in rows}
            names = {
                p.pk: p.display_name
                for p in Partner.objects.filter(pk__in=member_ids).only("id", "first_name", "last_name", "username")
            }
            languages = dict(Partner.objects.filter(pk__in=chunk).values_list("pk", "language"))
            per_leader: dict[int, list[dict]] = defaultdict(list)
            for row in rows:
                per_leader[row["partner_id"]].append(row)
            drafts = []
            for leader_id, items in per_leader.items():
                language = languages.get(leader_id) or settings.LANGUAGE_CODE
                drafts.append(
                    NotificationDraft(
                        partner_id=leader_id,
                        kind=Kind.REFERRAL_DIGEST,
                        params={
                            "count": len(items),
                            "xp": sum(int(item["data"].get("xp") or 0) for item in items),
                            "details": _details(items, names, language),
                        },
                        data={"count": len(items), "notification_ids": [item["id"] for item in items][:200]},
                        dedupe_key=f"digest:{leader_id}:{hour}",
                        language=language,
                        created_at=now,
                    )
                )
            for digest in notifications_create(drafts):
                ids = [item["id"] for item in per_leader[digest.partner_id]]
                Notification.objects.filter(pk__in=ids, delivery=Delivery.PENDING).update(
                    delivery=Delivery.DIGESTED, digest_id=digest.pk
                )
                created += 1
    return created
