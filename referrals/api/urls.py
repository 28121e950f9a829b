from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from referrals.api import views

router = SimpleRouter()
router.register("share/events", views.ShareEventViewSet, basename="share-events")

urlpatterns = [
    path("share/", views.ShareKitView.as_view(), name="share-kit"),
    path("share/funnel/", views.ShareFunnelView.as_view(), name="share-funnel"),
    re_path(r"^share/qr\.(?P<kind>svg|png)$", views.ShareQRView.as_view(), name="share-qr"),
] + router.urls
