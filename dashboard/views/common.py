"""Helpers shared by the dashboard views: rendering with the section name, post-redirect-get
with a translated message, paging."""

from django.contrib import messages
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from dashboard.errors import domain_error_message
from p2phub.errors import DomainError

PAGE_SIZE = 20


def page(request, template: str, section: str, context: dict, status: int = 200):
    return render(request, template, {"section": section, **context}, status=status)


def back(request, fallback: str):
    """Redirect to the `next` form field when it is one of our dashboard pages, else `fallback`."""
    target = request.POST.get("next") or ""
    if target.startswith("/dashboard/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(fallback)


def refuse(request, error: DomainError, fallback: str, **params):
    messages.error(request, domain_error_message(error, **params))
    return back(request, fallback)


def paginate(request, queryset, *, per_page: int = PAGE_SIZE, param: str = "page"):
    """A page of `queryset`: one COUNT and one SELECT; a bad page number shows the nearest page."""
    paginator = Paginator(queryset, per_page)
    number = request.GET.get(param) or 1
    try:
        return paginator.page(number)
    except PageNotAnInteger:
        return paginator.page(1)
    except EmptyPage:
        return paginator.page(paginator.num_pages)
