"""Fast network builders for the dashboard's fixed-cost tests: a 10,000-member downline in a
second or two on SQLite. Rows are bulk-inserted level by level with the paths treebeard itself
computes (`MP_Node._get_path`), `numchild` set to the real number of children and `referrer` to
the tree parent, so the result passes the tree integrity check (asserted in the tests). No
referral awards are paid: these members exist to make the tree big, not to test the engine."""

import itertools

from django.utils import timezone

from partners.models import Partner

_codes = itertools.count(0x10000000)


def _code() -> str:
    return f"P2P-{next(_codes):08X}"


def bulk_downline(top: Partner, per_level: list[int]) -> list[list[Partner]]:
    """Grow `top`'s downline: `per_level[i]` members at level i+1, spread evenly over the
    members of the level above. Returns the members per level."""
    now = timezone.now()
    parents = [Partner.objects.get(pk=top.pk)]
    levels: list[list[Partner]] = []
    for count in per_level:
        children_of = {p.pk: 0 for p in parents}
        rows = []
        for index in range(count):
            parent = parents[index % len(parents)]
            children_of[parent.pk] += 1
            position = parent.numchild + children_of[parent.pk]
            rows.append(
                Partner(
                    path=Partner._get_path(parent.path, parent.depth + 1, position),
                    depth=parent.depth + 1,
                    numchild=0,
                    referrer_id=parent.pk,
                    referral_code=_code(),
                    username=f"m{len(rows)}_{parent.depth + 1}",
                    first_name=f"Member{index}",
                    last_name=f"L{parent.depth + 1 - top.depth}",
                    telegram_id=None,
                    joined_at=now,
                )
            )
        created = Partner.objects.bulk_create(rows, batch_size=2000)
        if not created or created[0].pk is None:  # databases that return no ids
            created = list(Partner.objects.filter(path__in=[r.path for r in rows]).order_by("path"))
        for parent in parents:
            added = children_of[parent.pk]
            if added:
                Partner.objects.filter(pk=parent.pk).update(numchild=parent.numchild + added)
                parent.numchild += added
        levels.append(created)
        parents = created
    top.refresh_from_db()
    return levels


# 10,000 members spread over all nine levels.
TEN_THOUSAND = [3, 9, 27, 81, 243, 729, 2187, 3000, 3721]
TEN = [2, 2, 1, 1, 1, 1, 1, 1]
