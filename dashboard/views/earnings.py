"""Earnings: the XP and USDT ledgers (the rows of GET /api/v1/me/ledger/, through the ledger
registry), each row explaining itself, referral XP held for review, and a CSV download."""

import csv

from django.http import Http404, StreamingHttpResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from dashboard.access import member_page
from dashboard.labels import task_title
from dashboard.selectors import held_referral_awards
from dashboard.templatetags.dashboard_tags import money, num, percent
from dashboard.views.common import page, paginate
from p2phub.ledgers import ledger_for
from payments.selectors import usdt_balances
from rewards.models import Task

CURRENCIES = ("XP", "USDT")


def _currency(request) -> str:
    value = (request.GET.get("currency") or "XP").strip().upper()
    if value not in CURRENCIES or ledger_for(value) is None:
        raise Http404
    return value


def _entries(partner, currency: str):
    return ledger_for(currency).entries_for(partner).select_related("related_partner")


def _explain_xp(row, tasks: dict) -> str:
    meta = row.metadata or {}
    source = row.related_partner.display_name if row.related_partner_id else ""
    if row.kind == "referral":
        text = _("%(name)s joined your network at level %(level)s.") % {"name": source, "level": row.level}
    elif row.kind == "checkin":
        text = _("Daily check-in, streak %(streak)s.") % {"streak": meta.get("streak", "?")}
        if meta.get("bonus_xp"):
            text += " " + _("Includes a weekly bonus of %(bonus)s XP.") % {"bonus": num(meta["bonus_xp"])}
    elif row.kind == "task":
        task = tasks.get(meta.get("task"))
        text = _("Task completed: %(task)s.") % {"task": task_title(task) if task else meta.get("task", "")}
    elif row.kind == "correction":
        text = _("Correction by staff.")
        if meta.get("reason"):
            text += f" {meta['reason']}"
    else:
        text = row.kind
    if meta.get("pro"):
        text += " " + _("PRO x5.")
    return text


def _explain_usdt(row, now) -> str:
    source = row.related_partner.display_name if row.related_partner_id else ""
    if row.kind == "commission":
        text = _(
            "Level %(level)s commission: %(rate)s of %(base)s USD paid by %(name)s for PRO (payment #%(payment)s)."
        ) % {"level": row.level, "rate": percent(row.rate), "base": money(row.base_amount), "name": source, "payment": row.payment_id}
        if row.available_at > now:
            text += " " + _("On hold until %(date)s.") % {"date": _date(row.available_at)}
        else:
            text += " " + _("Available since %(date)s.") % {"date": _date(row.available_at)}
        return text
    if row.kind == "commission_reversal":
        return _("Level %(level)s commission reversed: %(name)s's payment #%(payment)s was refunded.") % {
            "level": row.level, "name": source, "payment": row.payment_id,
        }
    if row.kind == "payout_reserve":
        return _("Reserved for payout #%(payout)s.") % {"payout": row.payout_id}
    if row.kind == "payout_release":
        return _("Payout #%(payout)s was rejected: the amount is back in your balance.") % {"payout": row.payout_id}
    if row.kind == "correction":
        return _("Correction by staff.")
    return row.kind


def _date(moment) -> str:
    return date_format(moment, "SHORT_DATE_FORMAT")


def _task_titles(rows) -> dict:
    ids = {(r.metadata or {}).get("task") for r in rows if r.kind == "task"} - {None}
    return Task.objects.in_bulk(list(ids)) if ids else {}


def _row(row, currency: str, tasks: dict, now) -> dict:
    return {
        "id": row.pk,
        "created_at": row.created_at,
        "amount": row.amount,
        "kind": row.kind,
        "level": row.level,
        "held": currency == "USDT" and row.available_at > now,
        "explanation": _explain_xp(row, tasks) if currency == "XP" else _explain_usdt(row, now),
    }


@require_GET
@member_page
def earnings(request):
    partner = request.partner
    currency = _currency(request)
    if request.GET.get("format") == "csv":
        return _csv(partner, currency)
    now = timezone.now()
    entries = paginate(request, _entries(partner, currency))
    rows = list(entries.object_list)
    tasks = _task_titles(rows) if currency == "XP" else {}
    context = {
        "currency": currency,
        "entries": entries,
        "rows": [_row(r, currency, tasks, now) for r in rows],
        "held_awards": held_referral_awards(partner) if currency == "XP" else [],
        "balances": usdt_balances(partner.pk, now=now) if currency == "USDT" else None,
        "query_prefix": f"currency={currency}&",
    }
    return page(request, "dashboard/earnings.html", "earnings", context)


class _Echo:
    def write(self, value):
        return value


def _cell(value) -> str:
    """Spreadsheet-safe: a text starting with = + - @ is not run as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv(partner, currency: str):
    now = timezone.now()
    writer = csv.writer(_Echo())
    header = ["id", "created_at", "currency", "amount", "kind", "level", "source_member", "explanation"]
    if currency == "USDT":
        header += ["rate", "base_amount_usd", "payment_id", "payout_id", "available_at"]

    def lines():
        yield writer.writerow(header)
        rows = _entries(partner, currency).iterator(chunk_size=1000)
        for row in rows:
            # The CSV names tasks by id (no per-row lookups; the page shows their titles).
            explanation = _explain_xp(row, {}) if currency == "XP" else _explain_usdt(row, now)
            line = [
                row.pk, row.created_at.isoformat(), currency, row.amount, row.kind, row.level or "",
                row.related_partner.display_name if row.related_partner_id else "", explanation,
            ]
            if currency == "USDT":
                line += [
                    row.rate if row.rate is not None else "", row.base_amount if row.base_amount is not None else "",
                    row.payment_id or "", row.payout_id or "", row.available_at.isoformat(),
                ]
            yield writer.writerow([_cell(v) for v in line])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="p2phub-{currency.lower()}-ledger.csv"'
    return response
