"""Staff review queue for held referral awards, and read-only views of the engine's state.

The queue is built for volume: pending first, highest score first; filters by score band,
reason and "referrers with the most pending signups" (a burst from one NAT or one farmer shows
up as one line there); bulk approve / reject. Every decision goes through the service, which
locks the row, so a signup is paid or dropped exactly once even when two staff click together.
"""

from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse

from p2phub.admin import ReadOnlyAdmin
from p2phub.errors import DomainError
from referrals.models import (
    PartnerSighting,
    ReferralAttribution,
    ReferralAwardRetry,
    ReferralReview,
    ShareClick,
    ShareEvent,
    ShareTemplate,
)
from referrals.services import (
    referral_awards_retry,
    referral_fraud_hold_clear,
    referral_review_approve,
    referral_review_reject,
)

REASON_CODES = (
    "same_ip_as_referrer",
    "shared_ip_as_referrer",
    "same_device_as_referrer",
    "bot_user_agent",
    "referrer_velocity",
    "sub_second_timing",
)


class ScoreBandFilter(admin.SimpleListFilter):
    title = "score"
    parameter_name = "score_band"
    bands = {"31-50": (31, 50), "51-70": (51, 70), "71-100": (71, 100), "0-30": (0, 30)}

    def lookups(self, request, model_admin):
        return [(key, key) for key in self.bands]

    def queryset(self, request, queryset):
        if self.value() in self.bands:
            low, high = self.bands[self.value()]
            return queryset.filter(score__gte=low, score__lte=high)
        return queryset


class ReasonFilter(admin.SimpleListFilter):
    title = "reason"
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return [(code, code.replace("_", " ")) for code in REASON_CODES]

    def queryset(self, request, queryset):
        if self.value() in REASON_CODES:
            return queryset.filter(reason_codes__contains=self.value())
        return queryset


class BusyReferrerFilter(admin.SimpleListFilter):
    """The 20 referrers with the most pending reviews: one click shows a whole burst."""

    title = "referrer (most pending)"
    parameter_name = "referrer"

    def lookups(self, request, model_admin):
        rows = (
            ReferralReview.objects.filter(status=ReferralReview.Status.PENDING)
            .values("referrer_id", "referrer__referral_code")
            .annotate(pending=Count("id"))
            .order_by("-pending")[:20]
        )
        return [(str(row["referrer_id"]), f"{row['referrer__referral_code']} ({row['pending']})") for row in rows]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(referrer_id=int(value))
        return queryset


@admin.register(ReferralReview)
class ReferralReviewAdmin(admin.ModelAdmin):
    list_display = ("id", "new_member", "referrer", "score", "reason_codes", "total_xp", "status", "created_at")
    list_filter = ("status", ScoreBandFilter, ReasonFilter, BusyReferrerFilter)
    search_fields = ("=referrer__referral_code", "=new_member__referral_code", "referrer__username", "new_member__username")
    list_select_related = ("new_member", "referrer")
    ordering = ("status", "-score", "id")
    readonly_fields = [f.name for f in ReferralReview._meta.fields]
    actions = ("approve_selected", "reject_selected")
    list_per_page = 100
    # Approve / Reject (pending) and Clear fraud hold (rejected or blocked) buttons.
    change_form_template = "admin/referrals/referralreview/change_form.html"

    def get_urls(self):
        return [
            path(
                "<int:review_id>/decide/<str:decision>/",
                self.admin_site.admin_view(self.decide_view),
                name="referrals_referralreview_decide",
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request, review_id: int, decision: str):
        """The detail page's buttons: one service call each, then back to the review."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            messages.error(request, "You may not decide referral reviews.")
        else:
            review = get_object_or_404(ReferralReview, pk=review_id)
            note = request.POST.get("note", "")[:500]
            services = {
                "approve": lambda: referral_review_approve(review_id=review.pk, actor=request.user, note=note),
                "reject": lambda: referral_review_reject(review_id=review.pk, actor=request.user, note=note),
                "clear-hold": lambda: referral_fraud_hold_clear(review_id=review.pk, actor=request.user, reason=note),
            }
            if decision not in services:
                messages.error(request, "Unknown decision.")
            else:
                try:
                    services[decision]()
                    messages.success(request, {"approve": "Approved: the held awards are paid.",
                                               "reject": "Rejected: the held awards are dropped.",
                                               "clear-hold": "The member's fraud hold is cleared."}[decision])
                except DomainError as error:
                    messages.error(request, error.detail)
        return HttpResponseRedirect(reverse("admin:referrals_referralreview_change", args=[review_id]))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["review_urls"] = {
                decision.replace("-", "_"): reverse("admin:referrals_referralreview_decide", args=[obj.pk, decision])
                for decision in ("approve", "reject", "clear-hold")
            }
            context["review_member_on_hold"] = obj.new_member.fraud_hold
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _decide_all(self, request, queryset, decide, verb):
        done, skipped = 0, 0
        for review_id in queryset.filter(status=ReferralReview.Status.PENDING).values_list("pk", flat=True):
            try:
                decide(review_id=review_id, actor=request.user)
                done += 1
            except DomainError:
                skipped += 1  # decided meanwhile by someone else
        skipped += queryset.exclude(status=ReferralReview.Status.PENDING).count()
        self.message_user(request, f"{verb} {done} review(s).", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"Skipped {skipped} review(s) that were not pending.", messages.WARNING)

    @admin.action(description="Approve selected (pay the held awards)", permissions=["change"])
    def approve_selected(self, request, queryset):
        self._decide_all(request, queryset, referral_review_approve, "Approved")

    @admin.action(description="Reject selected (drop the held awards)", permissions=["change"])
    def reject_selected(self, request, queryset):
        self._decide_all(request, queryset, referral_review_reject, "Rejected")


@admin.register(ReferralAwardRetry)
class ReferralAwardRetryAdmin(admin.ModelAdmin):
    list_display = ("id", "new_member", "attempts", "next_attempt_at", "done_at", "created_at")
    list_filter = (("done_at", admin.EmptyFieldListFilter),)
    readonly_fields = [f.name for f in ReferralAwardRetry._meta.fields]
    raw_id_fields = ("new_member",)
    actions = ("retry_now",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Retry now", permissions=["change"])
    def retry_now(self, request, queryset):
        results = [referral_awards_retry(pk) for pk in queryset.values_list("pk", flat=True)]
        self.message_user(request, f"{sum(results)} done, {len(results) - sum(results)} failed again.")


@admin.register(PartnerSighting)
class PartnerSightingAdmin(ReadOnlyAdmin):
    list_display = ("partner", "kind", "value_hash", "first_seen", "last_seen")
    list_filter = ("kind",)
    search_fields = ("=value_hash", "=partner__referral_code")
    raw_id_fields = ("partner",)


# --- Sharing (SPEC §10) -------------------------------------------------------------------------


@admin.register(ShareTemplate)
class ShareTemplateAdmin(admin.ModelAdmin):
    """Staff edit the share messages; the model's clean() refuses unknown variables, stray
    braces and figures outside an optional [part], with a message on the body field."""

    list_display = ("title", "language", "platform", "tone", "is_active", "sort_order", "updated_at")
    list_filter = ("language", "platform", "tone", "is_active")
    list_editable = ("is_active", "sort_order")
    search_fields = ("title", "body")
    ordering = ("language", "sort_order", "id")


@admin.register(ShareClick)
class ShareClickAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "referrer", "platform", "counted", "is_bot", "user_agent")
    list_filter = ("platform", "counted", "is_bot")
    raw_id_fields = ("referrer",)
    list_select_related = ("referrer",)
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(ShareEvent)
class ShareEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "partner", "platform")
    list_filter = ("platform",)
    raw_id_fields = ("partner",)
    list_select_related = ("partner",)
    show_full_result_count = False


@admin.register(ReferralAttribution)
class ReferralAttributionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "new_member", "referrer", "platform", "channel")
    list_filter = ("platform", "channel")
    raw_id_fields = ("new_member", "referrer")
    list_select_related = ("new_member", "referrer")
    show_full_result_count = False
