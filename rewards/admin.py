"""Rewards admin: the task catalogue is editable; ledgers, check-ins, badges and task progress
are read-only records (changes go through services so they stay audited)."""

from django.contrib import admin
from django.db import models

from p2phub.admin import ReadOnlyAdmin
from rewards.models import Badge, CheckIn, Streak, Task, TaskProgress, XPBalance, XPEntry


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("id", "type", "title", "reward_xp", "requirement", "telegram_chat_id", "is_active", "sort_order")
    list_filter = ("type", "is_active")
    list_editable = ("is_active", "sort_order")
    search_fields = ("id", "title")
    ordering = ("sort_order", "id")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_readonly_fields(self, request, obj=None):
        # The id is the public API identifier and the ledger idempotency key: fixed once created.
        return ("id",) if obj else ()

    def has_delete_permission(self, request, obj=None):
        return False  # members' progress points at tasks; deactivate instead


@admin.register(XPEntry)
class XPEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "partner", "amount", "kind", "level", "related_partner", "created_at")
    list_filter = ("kind",)
    search_fields = ("idempotency_key", "partner__referral_code", "partner__username")
    raw_id_fields = ("partner", "related_partner")
    list_select_related = ("partner", "related_partner")
    date_hierarchy = "created_at"
    show_full_result_count = False  # COUNT(*) over a large ledger on every page is slow


@admin.register(XPBalance)
class XPBalanceAdmin(ReadOnlyAdmin):
    list_display = ("partner", "xp", "folded_at")
    search_fields = ("partner__referral_code", "partner__username")
    raw_id_fields = ("partner",)


@admin.register(CheckIn)
class CheckInAdmin(ReadOnlyAdmin):
    list_display = ("partner", "day", "streak", "xp", "bonus_xp", "was_pro", "freeze_week")
    list_filter = ("was_pro",)
    search_fields = ("partner__referral_code", "partner__username")
    raw_id_fields = ("partner",)
    date_hierarchy = "day"
    show_full_result_count = False


@admin.register(Streak)
class StreakAdmin(ReadOnlyAdmin):
    list_display = ("partner", "current", "longest", "last_checkin_date")
    search_fields = ("partner__referral_code", "partner__username")
    raw_id_fields = ("partner",)
    ordering = ("-current",)


@admin.register(Badge)
class BadgeAdmin(ReadOnlyAdmin):
    list_display = ("partner", "code", "earned_at")
    list_filter = ("code",)
    search_fields = ("partner__referral_code", "partner__username")
    raw_id_fields = ("partner",)


@admin.register(TaskProgress)
class TaskProgressAdmin(ReadOnlyAdmin):
    list_display = ("partner", "task", "started_at", "completed_at", "awarded_xp", "touched_at")
    list_filter = ("task", ("completed_at", admin.EmptyFieldListFilter))
    search_fields = ("partner__referral_code", "partner__username")
    raw_id_fields = ("partner",)
