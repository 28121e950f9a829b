"""Admin building blocks shared by the apps (audit keeps its own: it imports nothing of ours)."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records staff may look at but never add, edit or delete in admin: ledgers, logs and
    sightings change only through the services that audit them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
