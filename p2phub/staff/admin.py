"""Admin additions that read or change several apps at once (the domain apps' admin modules
stay within their app):

- the partner page gets a staff overview (XP and USDT balances, downline per level, recent
  ledger rows, links to the member's audit trail) and a "USDT correction" page (a new ledger row
  with a required reason, through `usdt_correction_create`, audited);
- audit rows show names (member, related member, staff user), not bare ids: `audit` imports
  nothing of ours, so the names are added here.
"""

from decimal import InvalidOperation

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import CharField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html

from audit.admin import AuditLogAdmin
from audit.models import AuditLog
from p2phub.errors import DomainError
from partners.admin import PartnerAdmin
from partners.models import Partner
from partners.selectors import partner_network_counts
from payments.selectors import usdt_balances, usdt_entries_for
from payments.services import usdt_correction_create
from rewards.selectors import xp_balance
from rewards.selectors.xp import xp_entries_for

RECENT_ROWS = 10


class USDTCorrectionForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=24, decimal_places=6, label="Amount (USDT, signed)",
        help_text="Positive credits the member, negative debits them. A new ledger row; nothing is edited.",
    )
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}), label="Reason (required, audited)")

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("A correction needs a non-zero amount.")
        return amount

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("A correction needs a reason.")
        return reason


def _can_correct(request) -> bool:
    return request.user.has_perm("payments.change_usdtentry")


class StaffPartnerAdmin(PartnerAdmin):
    readonly_fields = (*PartnerAdmin.readonly_fields, "staff_overview")

    def get_urls(self):
        return [
            path(
                "<int:partner_id>/usdt-correction/",
                self.admin_site.admin_view(self.usdt_correction_view),
                name="partners_partner_usdt_correction",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="Staff overview")
    def staff_overview(self, obj: Partner):
        if obj is None or obj.pk is None:
            return "—"
        usdt = usdt_balances(obj.pk)
        context = {
            "partner": obj,
            "xp": xp_balance(obj.pk),
            "usdt": usdt,
            "network": partner_network_counts(obj),
            "xp_rows": list(xp_entries_for(obj).select_related("related_partner")[:RECENT_ROWS]),
            "usdt_rows": list(usdt_entries_for(obj).select_related("related_partner")[:RECENT_ROWS]),
            "audit_url": reverse("admin:audit_auditlog_changelist") + f"?partner_id={obj.pk}",
            "audit_csv_url": reverse("staff-audit-logs-list") + f"?partner={obj.pk}&format=csv",
            "xp_ledger_url": reverse("admin:rewards_xpentry_changelist") + f"?partner__id__exact={obj.pk}",
            "usdt_ledger_url": reverse("admin:payments_usdtentry_changelist") + f"?partner__id__exact={obj.pk}",
            "correction_url": reverse("admin:partners_partner_usdt_correction", args=[obj.pk]),
        }
        return render_to_string("admin/partners/partner/staff_overview.html", context)

    def usdt_correction_view(self, request, partner_id: int):
        partner = Partner.objects.filter(pk=partner_id).first()
        if partner is None:
            raise Http404("No partner with that id.")
        if not _can_correct(request):
            raise PermissionDenied
        form = USDTCorrectionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                entry = usdt_correction_create(
                    partner=partner, amount=form.cleaned_data["amount"], reason=form.cleaned_data["reason"], actor=request.user
                )
            except (DomainError, InvalidOperation) as error:
                form.add_error(None, getattr(error, "detail", str(error)))
            else:
                messages.success(request, f"Recorded a correction of {entry.amount:+} USDT for {partner.display_name}.")
                return HttpResponseRedirect(reverse("admin:partners_partner_change", args=[partner.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "partner": partner,
            "form": form,
            "balances": usdt_balances(partner.pk),
            "title": f"USDT correction for {partner.display_name}",
        }
        return render(request, "admin/partners/partner/usdt_correction.html", context)


def _name_of(id_field: str):
    """A subquery for the display name of the partner whose id is in `id_field` (as
    Partner.display_name: full name, else @username, else "Partner <id>")."""
    full = NullIf(Trim(Concat("first_name", Value(" "), "last_name", output_field=CharField())), Value(""))
    handle = NullIf(Concat(Value("@"), "username", output_field=CharField()), Value("@"))
    names = Partner.objects.filter(pk=OuterRef(id_field)).annotate(
        shown=Coalesce(full, handle, Concat(Value("Partner "), "id", output_field=CharField()), output_field=CharField())
    )
    return Subquery(names.values("shown")[:1], output_field=CharField())


class StaffAuditLogAdmin(AuditLogAdmin):
    list_display = (
        "id", "created_at", "event_type", "partner_link", "related_partner_link", "amount", "currency", "actor_name",
    )
    list_select_related = ("actor",)
    readonly_fields = ("partner_link", "related_partner_link", "actor_name", *AuditLogAdmin.readonly_fields)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            partner_name=_name_of("partner_id"), related_partner_name=_name_of("related_partner_id")
        )

    @staticmethod
    def _link(partner_id, name):
        if partner_id is None:
            return "—"
        url = reverse("admin:partners_partner_change", args=[partner_id])
        return format_html('<a href="{}">{}</a> <span class="quiet">#{}</span>', url, name or f"Partner {partner_id}", partner_id)

    @admin.display(description="Partner", ordering="partner_id")
    def partner_link(self, obj):
        return self._link(obj.partner_id, getattr(obj, "partner_name", None))

    @admin.display(description="Related partner")
    def related_partner_link(self, obj):
        return self._link(obj.related_partner_id, getattr(obj, "related_partner_name", None))

    @admin.display(description="Actor")
    def actor_name(self, obj):
        if obj.actor_id:
            name = obj.actor.get_full_name() or obj.actor.get_username()
            return format_html('{} <span class="quiet">(staff #{})</span>', name, obj.actor_id)
        return obj.actor_label or "system"


for model, model_admin in ((Partner, StaffPartnerAdmin), (AuditLog, StaffAuditLogAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
