from rest_framework.routers import SimpleRouter

from audit.api.views import AuditLogViewSet

router = SimpleRouter()
router.register("staff/audit-logs", AuditLogViewSet, basename="staff-audit-logs")

urlpatterns = router.urls
