"""Partner admin: the tree view from treebeard, but every change goes through the services so
it is validated and audited (moves refuse cycles; partners are deactivated, never deleted)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from treebeard.admin import TreeAdmin

from audit.models import EventType
from audit.services import audit_record
from p2phub.errors import DomainError
from partners.models import Notification, Partner, PendingAttribution, StaffMessage, TelegramUpdate
from partners.services import partner_find_by_code, partner_move, partner_set_status

TREE_FIELDS = ("path", "depth", "numchild")


class PartnerActionForm(ActionForm):
    sponsor_code = forms.CharField(
        required=False, label="New sponsor code (for “Move under sponsor”)", max_length=12
    )
    reason = forms.CharField(required=False, label="Reason", max_length=200)


class PartnerChangeForm(forms.ModelForm):
    photo_url = forms.URLField(required=False, assume_scheme="https", max_length=512)

    class Meta:
        model = Partner
        fields = ("username", "first_name", "last_name", "language", "photo_url", "notifications_enabled", "leaderboard_visibility")


@admin.register(Partner)
class PartnerAdmin(TreeAdmin):
    form = PartnerChangeForm
    action_form = PartnerActionForm
    list_display = ("display_name", "referral_code", "telegram_id", "username", "status", "is_pro", "depth", "numchild", "joined_at")
    list_filter = ("status", "is_pro", "fraud_hold", "language", ("telegram_blocked_at", admin.EmptyFieldListFilter))
    search_fields = ("username", "=telegram_id", "=referral_code", "first_name", "last_name")
    readonly_fields = (
        "referral_code", "telegram_id", "user", "referrer", *TREE_FIELDS, "status", "fraud_hold",
        "is_pro", "pro_expires_at", "telegram_blocked_at", "joined_at", "updated_at",
    )
    list_select_related = ("referrer",)
    actions = ("deactivate", "ban", "reactivate", "move_under_sponsor")

    def get_search_results(self, request, queryset, search_term):
        # Codes are stored upper-case; let staff paste them in any case.
        term = search_term.strip()
        if term.upper().startswith("P2P-"):
            term = term.upper()
        return super().get_search_results(request, queryset, term)

    def has_add_permission(self, request) -> bool:
        return False  # members join through the Mini App, the bot or the web signup

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(
                EventType.STAFF_ACTION,
                partner_id=obj.pk,
                actor=request.user,
                metadata={"action": "partner_edited", "changes": {f: str(form.cleaned_data.get(f)) for f in form.changed_data}},
            )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deleting a node deletes its subtree; deactivate or ban instead

    def _set_status(self, request, queryset, status: str) -> None:
        reason = request.POST.get("reason", "")
        for partner in queryset:
            partner_set_status(partner=partner, status=status, actor=request.user, reason=reason)
        self.message_user(request, f"{queryset.count()} partner(s) set to {status}.")

    @admin.action(description="Deactivate selected partners", permissions=["change"])
    def deactivate(self, request, queryset):
        self._set_status(request, queryset, Partner.Status.DEACTIVATED)

    @admin.action(description="Ban selected partners", permissions=["change"])
    def ban(self, request, queryset):
        self._set_status(request, queryset, Partner.Status.BANNED)

    @admin.action(description="Reactivate selected partners", permissions=["change"])
    def reactivate(self, request, queryset):
        self._set_status(request, queryset, Partner.Status.ACTIVE)

    @admin.action(description="Move under sponsor (with their downline)", permissions=["change"])
    def move_under_sponsor(self, request, queryset):
        sponsor = partner_find_by_code(request.POST.get("sponsor_code"))
        if sponsor is None:
            self.message_user(request, "Enter the referral code of an existing sponsor.", messages.ERROR)
            return
        for partner in queryset:
            try:
                partner_move(partner=partner, new_referrer=sponsor, actor=request.user)
                self.message_user(request, f"Moved {partner} under {sponsor}.")
            except DomainError as error:
                self.message_user(request, f"{partner}: {error.detail}", messages.ERROR)

    @staticmethod
    def _valid_pk(value) -> bool:
        """Partner ids are positive bigints; anything else names no partner (404/400, not 500)."""
        text = str(value or "")
        return text.isascii() and text.isdigit() and 0 < int(text) < 2**63

    def children_view(self, request, parent_id):
        # treebeard looks the id up as it comes in the URL: "abc" raised ValueError (a 500).
        if not self._valid_pk(parent_id):
            raise Http404("No partner with that id.")
        return super().children_view(request, parent_id)

    def get_object(self, request, object_id, from_field=None):
        # change/history/delete views: a non-numeric or out-of-range id is simply "not found".
        if from_field is None and not self._valid_pk(object_id):
            return None
        return super().get_object(request, object_id, from_field)

    def move_node(self, request):
        """Drag and drop in the tree view: only "make child of" is meaningful for a referral
        tree, and it goes through the audited service."""
        if not self.has_change_permission(request):
            return HttpResponseBadRequest("Not allowed")
        node_id, target_id = request.POST.get("node"), request.POST.get("target")
        if not (self._valid_pk(node_id) and self._valid_pk(target_id)):
            return HttpResponseBadRequest("Invalid form data provided")
        try:
            node = Partner.objects.get(pk=node_id)
            target = Partner.objects.get(pk=target_id)
        except Partner.DoesNotExist:
            return HttpResponseBadRequest("Invalid form data provided")
        if request.POST.get("relation") != "child":
            messages.error(request, "A member can only be moved under a new sponsor (drop onto the sponsor).")
            return HttpResponseBadRequest("Only moves under a sponsor are allowed")
        try:
            partner_move(partner=node, new_referrer=target, actor=request.user)
        except DomainError as error:
            messages.error(request, error.detail)
            return HttpResponseBadRequest(error.detail)
        messages.info(request, f"Moved {node} under {target}.")
        return HttpResponse("OK")


@admin.register(PendingAttribution)
class PendingAttributionAdmin(admin.ModelAdmin):
    list_display = ("telegram_id", "referral_code", "created_at")
    search_fields = ("=telegram_id", "=referral_code")


class DeliveryAdmin(admin.ModelAdmin):
    """Read-only delivery tracking: state, attempts, last error, times; filterable."""

    delivery_fields = ("delivery", "attempts", "last_error", "next_attempt_at", "last_attempt_at", "sent_at", "telegram_message_id")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(DeliveryAdmin):
    list_display = ("partner", "kind", "title", "delivery", "attempts", "last_error", "sent_at", "read_at", "created_at")
    list_filter = ("delivery", "kind", ("sent_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("=partner__telegram_id", "partner__username", "=partner__referral_code", "title", "last_error")
    raw_id_fields = ("partner", "digest")
    list_select_related = ("partner",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "partner", "kind", "title", "body", "data", "dedupe_key", *DeliveryAdmin.delivery_fields, "digest", "read_at",
        "created_at",
    )


@admin.register(StaffMessage)
class StaffMessageAdmin(DeliveryAdmin):
    list_display = ("kind", "delivery", "attempts", "last_error", "sent_at", "created_at")
    list_filter = ("delivery", "kind")
    readonly_fields = ("kind", "text", "data", "dedupe_key", *DeliveryAdmin.delivery_fields, "created_at")


@admin.register(TelegramUpdate)
class TelegramUpdateAdmin(DeliveryAdmin):
    list_display = ("update_id", "status", "attempts", "last_error", "received_at", "processed_at")
    list_filter = ("status",)
    search_fields = ("=update_id",)
    readonly_fields = ("update_id", "payload", "status", "attempts", "last_error", "received_at", "processed_at")
