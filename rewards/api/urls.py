from django.urls import path

from rewards.api import views
from rewards.api.ledger_views import LedgerView

urlpatterns = [
    path("me/checkin/", views.CheckInView.as_view(), name="me-checkin"),
    path("me/ledger/", LedgerView.as_view(), name="me-ledger"),
    path("tasks/", views.TaskListView.as_view(), name="tasks"),
    path("tasks/<str:task_id>/start/", views.TaskStartView.as_view(), name="task-start"),
    path("tasks/<str:task_id>/claim/", views.TaskClaimView.as_view(), name="task-claim"),
    path("leaderboard/", views.LeaderboardView.as_view(), name="leaderboard"),
    path("leaderboard/me/", views.LeaderboardMeView.as_view(), name="leaderboard-me"),
]
