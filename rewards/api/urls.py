from django.urls import path
from rest_framework.routers import SimpleRouter

from rewards.api import views
from rewards.api.ledger_views import LedgerView

router = SimpleRouter()
router.register("tasks", views.TaskViewSet, basename="task")

urlpatterns = [
    path("me/checkin/", views.CheckInView.as_view(), name="me-checkin"),
    path("me/ledger/", LedgerView.as_view(), name="me-ledger"),
    path("leaderboard/", views.LeaderboardView.as_view(), name="leaderboard"),
    path("leaderboard/me/", views.LeaderboardMeView.as_view(), name="leaderboard-me"),
] + router.urls
