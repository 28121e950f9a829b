"""The stats answer as flat tables: what `?format=csv&table=<name>` exports and what the
dashboard's tables show. Values are the same objects as in the JSON answer (Decimals stay exact:
`str()` of them is what the CSV holds)."""

from collections.abc import Callable

Table = tuple[list[str], list[list]]


def _commissions(stats: dict) -> Table:
    totals = stats["commissions"]
    windows = [("24h", "total_paid_24h"), ("7d", "total_paid_7d"), ("30d", "total_paid_30d"), ("all", "total_paid_all")]
    return ["window", "total_paid_usdt"], [[name, totals[key]] for name, key in windows]


def _by_level(stats: dict) -> Table:
    return ["level", "total_paid_usdt", "total_reversed_usdt", "count"], [
        [row["level"], row["total_paid"], row["total_reversed"], row["count"]] for row in stats["commission_by_level"]
    ]


def _top_earners(stats: dict) -> Table:
    return ["rank", "partner_id", "name", "total_earned_usdt"], [
        [rank, row["partner_id"], row["name"], row["total_earned"]] for rank, row in enumerate(stats["top_earners"], 1)
    ]


def _pro(stats: dict) -> Table:
    pro = stats["pro"]
    return ["metric", "value"], [[key, pro[key]] for key in ("members", "pro_buyers", "active_pro", "pro_conversion_rate")]


def _review_queues(stats: dict) -> Table:
    return ["queue", "count"], [[key, value] for key, value in stats["review_queues"].items()]


def _funnel(stats: dict) -> Table:
    return ["level", "members"], [[row["level"], row["members"]] for row in stats["referral_funnel"]]


def _chain_depth(stats: dict) -> Table:
    return ["metric", "value"], [[key, value] for key, value in stats["chain_depth"].items()]


def _growth(stats: dict) -> Table:
    return ["window", "current", "previous", "change_pct"], [
        [row["window"], row["current"], row["previous"], "" if row["change_pct"] is None else row["change_pct"]]
        for row in stats["growth"]
    ]


def _daily(stats: dict) -> Table:
    columns = ["day", "signups", "pro_purchases", "commissions_usdt", "commission_reversals_usdt", "checkins"]
    return columns, [[row[column] for column in columns] for row in stats["daily"]]


def _share_funnel(stats: dict) -> Table:
    columns = ["platform", "shares", "clicks", "clicks_total", "signups", "pro_purchases", "pro_members"]
    return columns, [[row[column] for column in columns] for row in stats["share_funnel"]["platforms"]]


TABLES: dict[str, Callable[[dict], Table]] = {
    "commissions": _commissions,
    "commission_by_level": _by_level,
    "top_earners": _top_earners,
    "pro": _pro,
    "review_queues": _review_queues,
    "referral_funnel": _funnel,
    "chain_depth": _chain_depth,
    "growth": _growth,
    "daily": _daily,
    "share_funnel": _share_funnel,
}
