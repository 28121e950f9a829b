from dataclasses import asdict

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from rewards.api.serializers import (
    CheckInSerializer,
    LeaderboardEntrySerializer,
    LeaderboardMeQuerySerializer,
    LeaderboardQuerySerializer,
    LeaderboardRankSerializer,
    TaskClaimSerializer,
    TaskStateSerializer,
)
from rewards.leaderboards import leaderboard_rank, leaderboard_top
from rewards.selectors import task_states
from rewards.services import checkin_record, task_claim, task_start

BOARD_PARAMS = [
    OpenApiParameter("board", str, enum=["xp", "week", "month", "streak"], description="Default xp"),
]


class CheckInView(APIView):
    @extend_schema(request=None, responses=CheckInSerializer)
    def post(self, request):
        return Response(CheckInSerializer(asdict(checkin_record(partner=request.partner))).data)


class TaskViewSet(viewsets.ViewSet):
    """The task catalogue with the caller's state; `start` and `claim` act on one task."""

    lookup_field = "task_id"
    lookup_value_regex = r"[A-Za-z0-9_\-]{1,64}"

    @extend_schema(responses=TaskStateSerializer(many=True))
    def list(self, request):
        return Response(TaskStateSerializer(task_states(request.partner), many=True).data)

    @extend_schema(request=None, responses=TaskStateSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, task_id: str):
        return Response(TaskStateSerializer(task_start(partner=request.partner, task_id=task_id)).data)

    @extend_schema(request=None, responses=TaskClaimSerializer)
    @action(detail=True, methods=["post"])
    def claim(self, request, task_id: str):
        awarded, state = task_claim(partner=request.partner, task_id=task_id)
        return Response(TaskClaimSerializer({"awarded_xp": awarded, "task": state}).data)


class LeaderboardView(APIView):
    @extend_schema(
        parameters=[*BOARD_PARAMS, OpenApiParameter(
                "limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, description="1-100, default 20"
            )],
        responses=LeaderboardEntrySerializer(many=True),
    )
    def get(self, request):
        query = LeaderboardQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = leaderboard_top(query.validated_data["board"], limit=query.validated_data["limit"])
        return Response(LeaderboardEntrySerializer(rows, many=True).data)


class LeaderboardMeView(APIView):
    @extend_schema(parameters=BOARD_PARAMS, responses=LeaderboardRankSerializer)
    def get(self, request):
        query = LeaderboardMeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        board = query.validated_data["board"]
        return Response(LeaderboardRankSerializer({"board": board, **leaderboard_rank(board, partner=request.partner)}).data)
