from django.urls import path
from rest_framework.routers import SimpleRouter

from partners.api import views
from partners.api.notifications import NotificationViewSet

router = SimpleRouter()
router.register("me/notifications", NotificationViewSet, basename="me-notifications")
router.register(r"me/network/(?P<level>[0-9]{1,4})", views.NetworkLevelViewSet, basename="me-network-level")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("me/network/", views.NetworkView.as_view(), name="me-network"),
] + router.urls
