"""Staff views of payments, payouts, subscriptions, TON transfers and the USDT ledger.

Everything is read-only in forms; every state change is an admin action that calls the same
service the staff API uses (locks, state checks, ledger rows and audit included)."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import render

from p2phub.admin import ReadOnlyAdmin as BaseReadOnlyAdmin
from p2phub.errors import DomainError
from payments.models import Payment, Payout, Subscription, TonTransfer, USDTEntry
from payments.services import (
    payment_approve,
    payment_refund,
    payment_reject,
    payout_approve,
    payout_reject,
    ton_transfer_assign,
    ton_transfer_resolve,
)


class ReadOnlyAdmin(BaseReadOnlyAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_money_permission(self, request):
        """Actions that move money need the model's change permission; forms stay read-only."""
        opts = self.model._meta
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")


def _run_each(modeladmin, request, queryset, service, verb: str, *, id_arg: str, **kwargs) -> None:
    done, failed = 0, []
    for obj in queryset.order_by("pk"):
        try:
            service(actor=request.user, **{id_arg: obj.pk}, **kwargs)
            done += 1
        except DomainError as exc:
            failed.append(f"#{obj.pk}: {exc.detail}")
    if done:
        modeladmin.message_user(request, f"{verb} {done} {modeladmin.model._meta.verbose_name_plural}.", messages.SUCCESS)
    for failure in failed:
        modeladmin.message_user(request, failure, messages.WARNING)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "id", "partner", "method", "status", "price_usd", "amount", "currency", "memo", "tx_hash", "review_reason",
        "created_at", "completed_at",
    ]
    list_filter = ["status", "method", "review_reason"]
    search_fields = ["memo", "tx_hash", "partner__username", "partner__referral_code"]
    list_select_related = ["partner"]
    date_hierarchy = "created_at"
    actions = ["approve_payments", "reject_payments", "refund_payments"]

    @admin.action(permissions=["money"], description="Approve selected payments under review (completes them, pays commissions)")
    def approve_payments(self, request, queryset):
        _run_each(self, request, queryset, payment_approve, id_arg="payment_id", verb="Approved")

    @admin.action(permissions=["money"], description="Reject selected payments under review")
    def reject_payments(self, request, queryset):
        _run_each(self, request, queryset, payment_reject, id_arg="payment_id", verb="Rejected")

    @admin.action(permissions=["money"], description="Refund selected completed payments (reverses commissions, shortens PRO)")
    def refund_payments(self, request, queryset):
        _run_each(self, request, queryset, payment_refund, id_arg="payment_id", verb="Refunded")


class PayoutApproveForm(forms.Form):
    tx_hash = forms.CharField(max_length=128, label="Payout transaction hash")
    note = forms.CharField(max_length=500, required=False)


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = ["id", "partner", "amount", "network", "address", "status", "tx_hash", "requested_at", "decided_at"]
    list_filter = ["status", "network"]
    search_fields = ["address", "tx_hash", "partner__username", "partner__referral_code"]
    list_select_related = ["partner"]
    actions = ["approve_payout", "reject_payouts"]

    @admin.action(permissions=["money"], description="Approve one payout (asks for the payout transaction hash)")
    def approve_payout(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one payout to approve.", messages.WARNING)
            return None
        payout = queryset.get()
        form = PayoutApproveForm(request.POST if "tx_hash" in request.POST else None)
        if form.is_valid():
            _run_each(self, request, queryset, payout_approve, id_arg="payout_id", verb="Approved", **form.cleaned_data)
            return None
        return render(
            request,
            "admin/payments/payout/approve.html",
            {**self.admin_site.each_context(request), "payout": payout, "form": form, "opts": self.model._meta},
        )

    @admin.action(permissions=["money"], description="Reject selected payouts (releases the reserved amount)")
    def reject_payouts(self, request, queryset):
        _run_each(self, request, queryset, payout_reject, id_arg="payout_id", verb="Rejected")


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["id", "partner", "plan", "status", "starts_at", "ends_at", "payment"]
    list_filter = ["status", "plan"]
    search_fields = ["partner__username", "partner__referral_code"]
    list_select_related = ["partner", "payment"]


class TonTransferAssignForm(forms.Form):
    payment = forms.CharField(max_length=20, label="Payment id or memo", help_text="e.g. 42 or P2P-7F3A9C21")
    note = forms.CharField(max_length=500, required=False)

    def clean_payment(self):
        value = self.cleaned_data["payment"].strip()
        payment = (
            Payment.objects.filter(pk=int(value)).first()
            if value.isascii() and value.isdigit() and len(value) < 19
            else Payment.objects.filter(memo__iexact=value).first()
        )
        if payment is None:
            raise forms.ValidationError("No payment with that id or memo.")
        return payment


@admin.register(TonTransfer)
class TonTransferAdmin(ReadOnlyAdmin):
    list_display = ["id", "tx_hash", "status", "detail", "value_nanotons", "comment", "payment", "utime", "resolved_at"]
    list_filter = ["status", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["tx_hash", "comment", "source"]
    actions = ["mark_resolved", "assign_to_payment"]

    @admin.action(permissions=["money"], description="Assign one unmatched transfer to a payment (completes it once, audited)")
    def assign_to_payment(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one transfer to assign.", messages.WARNING)
            return None
        transfer = queryset.get()
        form = TonTransferAssignForm(request.POST if "payment" in request.POST else None)
        if form.is_valid():
            payment = form.cleaned_data["payment"]
            try:
                ton_transfer_assign(transfer_id=transfer.pk, payment_id=payment.pk, actor=request.user, note=form.cleaned_data["note"])
            except DomainError as exc:
                self.message_user(request, exc.detail, messages.ERROR)
            else:
                self.message_user(request, f"Transfer {transfer.tx_hash[:12]}… credited to payment #{payment.pk}.", messages.SUCCESS)
            return None
        return render(
            request,
            "admin/payments/tontransfer/assign.html",
            {**self.admin_site.each_context(request), "transfer": transfer, "form": form, "opts": self.model._meta},
        )

    @admin.action(permissions=["money"], description="Mark selected transfers as reviewed / handled")
    def mark_resolved(self, request, queryset):
        _run_each(self, request, queryset, ton_transfer_resolve, id_arg="transfer_id", verb="Resolved", note="resolved in admin")


@admin.register(USDTEntry)
class USDTEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "id", "partner", "amount", "kind", "level", "related_partner", "payment", "payout", "rate", "available_at",
        "created_at",
    ]
    list_filter = ["kind", "level"]
    search_fields = ["partner__username", "partner__referral_code", "idempotency_key"]
    list_select_related = ["partner", "related_partner"]
