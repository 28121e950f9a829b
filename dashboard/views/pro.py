"""PRO: the plan (payments.selectors.pro_plan_summary), payment sessions (payment_create), one
session's page with the TON amount, QR code, ton:// link, countdown and a status that updates by
itself (payment_check_ton for "check now"), or the USDT address, amount and tx hash form
(payment_submit_usdt). The same services as /api/v1/pro/ and /api/v1/payments/."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dashboard.access import member_page
from dashboard.errors import domain_error_message
from dashboard.forms import TxHashForm
from dashboard.labels import payment_status
from dashboard.views.common import page, refuse
from p2phub.api.throttling import ScopedRateThrottle
from p2phub.clients.errors import ExternalServiceError
from p2phub.errors import DomainError
from payments.api.serializers import qr_svg
from payments.models import Payment
from payments.selectors import payment_list, pro_plan_summary
from payments.services import payment_check_ton, payment_create, payment_submit_usdt

PRO_URL = "/dashboard/pro/"
RECENT_PAYMENTS = 10
FINAL_STATUSES = {"completed", "expired", "rejected", "refunded"}


class _Scope:
    throttle_scope = "payments"  # the API's write limit for payments, shared by the pages


def _throttled(request) -> bool:
    return not ScopedRateThrottle().allow_request(request, _Scope())


def _own_payment(request, payment_id: int) -> Payment:
    """The member's own payment; someone else's is a 404, like a missing one."""
    payment = payment_list(partner=request.partner).filter(pk=payment_id).first()
    if payment is None:
        raise Http404
    return payment


@require_GET
@member_page
def pro(request):
    partner = request.partner
    payments = list(payment_list(partner=partner)[:RECENT_PAYMENTS])
    context = {
        "plan": pro_plan_summary(partner),
        "payments": [{"obj": p, "status_label": payment_status(p.status)} for p in payments],
    }
    return page(request, "dashboard/pro.html", "pro", context)


@require_POST
@member_page
def payment_new(request):
    method = (request.POST.get("method") or "").strip().upper()
    if _throttled(request):
        messages.error(request, domain_error_message(DomainError("", code="throttled")))
        return redirect(PRO_URL)
    try:
        payment = payment_create(partner=request.partner, method=method)
    except DomainError as error:
        return refuse(request, error, PRO_URL)
    messages.success(request, _("Payment opened. Send the exact amount before the timer runs out."))
    return redirect("dashboard-payment", payment_id=payment.pk)


@require_GET
@member_page
def payment_detail(request, payment_id: int):
    payment = _own_payment(request, payment_id)
    now = timezone.now()
    pending = payment.status == Payment.Status.PENDING
    context = {
        "payment": payment,
        "status_label": payment_status(payment.status),
        "pending": pending,
        "seconds_left": max(0, int((payment.expires_at - now).total_seconds())) if pending else 0,
        "qr": mark_safe(qr_svg(payment.ton_link or payment.address)) if pending else None,  # noqa: S308 - segno's own SVG
        "form": TxHashForm(),
        # The quote carries TON_QUOTE_MARKUP over price / rate (the rate may move before the
        # transfer lands); the page says so, or the amount would not add up for the member.
        "markup_percent": ((settings.TON_QUOTE_MARKUP - 1) * 100).normalize(),
    }
    return page(request, "dashboard/payment.html", "pro", context)


@require_GET
@member_page
def payment_status_view(request, payment_id: int):
    """The status for the page's auto-update (polled every few seconds while pending)."""
    payment = _own_payment(request, payment_id)
    return JsonResponse(
        {"status": payment.status, "label": payment_status(payment.status), "final": payment.status in FINAL_STATUSES}
    )


@require_POST
@member_page
def payment_check(request, payment_id: int):
    payment = _own_payment(request, payment_id)
    back_url = f"/dashboard/pro/payments/{payment.pk}/"
    if _throttled(request):
        messages.error(request, domain_error_message(DomainError("", code="throttled")))
        return redirect(back_url)
    if payment.method == Payment.Method.USDT:
        form = TxHashForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(back_url)
        try:
            payment = payment_submit_usdt(partner=request.partner, payment_id=payment.pk, tx_hash=form.cleaned_data["tx_hash"])
        except DomainError as error:
            return refuse(request, error, back_url)
        messages.success(request, _("Thank you! Your transaction is waiting for a staff review."))
        return redirect(back_url)
    try:
        payment = payment_check_ton(partner=request.partner, payment_id=payment.pk)
    except ExternalServiceError:
        messages.error(request, domain_error_message(DomainError("", code="indexer_unavailable")))
        return redirect(back_url)
    except DomainError as error:
        return refuse(request, error, back_url)
    if payment.status == Payment.Status.COMPLETED:
        messages.success(request, _("Payment received: PRO is active."))
    elif payment.status == Payment.Status.PENDING:
        messages.info(request, _("No matching transfer yet. It can take a minute after you send it."))
    else:
        messages.info(request, _("Payment status: %(status)s.") % {"status": payment_status(payment.status)})
    return redirect(back_url)
