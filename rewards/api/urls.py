from django.urls import path
from rest_framework.routers import SimpleRouter

from rewards.api import views
from rewards.api.ledger_views import LedgerViewSet

router = SimpleRouter()
router.register("tasks", views.TaskViewSet, basename="task")
router.register("me/ledger", LedgerViewSet, basename="me-ledger")

urlpatterns = [
    path("me/checkin/", views.CheckInView.as_view(), name="me-checkin"),
    path("leaderboard/", views.LeaderboardView.as_view(), name="leaderboard"),
    path("leaderboard/me/", views.LeaderboardMeView.as_view(), name="leaderboard-me"),
] + router.urls
