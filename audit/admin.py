"""Read-only audit log in Django admin: staff can search and read, nobody can add, edit or
delete (the model and the database refuse too)."""

from django.contrib import admin

from audit.models import AuditLog


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "event_type", "partner_id", "related_partner_id", "amount", "currency", "actor_label")
    list_filter = ("event_type", "currency")
    search_fields = ("=partner_id", "=related_partner_id", "=request_id", "=hash")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditLog._meta.fields]
    list_per_page = 100
    # Counting a large append-only table on every page load is slow and adds nothing here.
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
