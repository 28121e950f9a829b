from django.urls import path
from rest_framework.routers import SimpleRouter

from partners.api import views
from partners.api.notifications import NotificationViewSet

router = SimpleRouter()
router.register("me/notifications", NotificationViewSet, basename="me-notifications")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("me/network/", views.NetworkView.as_view(), name="me-network"),
    path("me/network/<int:level>/", views.NetworkLevelView.as_view(), name="me-network-level"),
] + router.urls
