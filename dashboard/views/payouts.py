"""Payouts: request a withdrawal of available USDT (payments.services.payout_request, as
POST /api/v1/payouts/) and the member's payouts with their status (payout_list)."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dashboard.access import member_page
from dashboard.errors import domain_error_message
from dashboard.forms import PayoutForm
from dashboard.labels import payout_status
from dashboard.views.common import page, paginate
from p2phub.api.throttling import ScopedRateThrottle
from p2phub.errors import DomainError
from payments.selectors import payout_list, usdt_balances
from payments.services import payout_request

PAYOUTS_URL = "/dashboard/payouts/"


class _Scope:
    throttle_scope = "payouts"


@require_http_methods(["GET", "POST"])
@member_page
def payouts(request):
    partner = request.partner
    status = 200
    form = PayoutForm(initial={"network": settings.PAYOUT_NETWORKS[0]})
    if request.method == "POST":
        form = PayoutForm(request.POST)
        if not ScopedRateThrottle().allow_request(request, _Scope()):
            messages.error(request, domain_error_message(DomainError("", code="throttled")))
            status = 429
        elif form.is_valid():
            try:
                payout = payout_request(partner=partner, **form.cleaned_data)
            except DomainError as error:
                form.add_error(None, domain_error_message(error))
                status = 400
            else:
                messages.success(request, _("Payout #%(id)s requested. Staff send it after a check.") % {"id": payout.pk})
                return redirect(PAYOUTS_URL)
        else:
            status = 400
        if status == 400:
            messages.error(request, _("The payout was not requested: please correct the form."))
    items = paginate(request, payout_list(partner=partner))
    context = {
        "form": form,
        "balances": usdt_balances(partner.pk, now=timezone.now()),
        "minimum": settings.PAYOUT_MINIMUM_USDT,
        "items": [{"obj": p, "status_label": payout_status(p.status)} for p in items],
        "page_obj": items,
    }
    return page(request, "dashboard/payouts.html", "payouts", context, status=status)
