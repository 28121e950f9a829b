from django.urls import path

from audit.api.views import AuditLogListView

urlpatterns: list = [
    path("staff/audit-logs/", AuditLogListView.as_view(), name="staff-audit-logs"),
]
