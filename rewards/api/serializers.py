from rest_framework import serializers

from rewards.leaderboards.periods import BOARDS


class CheckInSerializer(serializers.Serializer):
    awarded_xp = serializers.IntegerField()
    streak = serializers.IntegerField()
    bonus_xp = serializers.IntegerField()
    already_checked_in = serializers.BooleanField()
    day = serializers.DateField()
    longest_streak = serializers.IntegerField()
    freeze_used = serializers.BooleanField()
    badges_earned = serializers.ListField(child=serializers.CharField())


class TaskStateSerializer(serializers.Serializer):
    id = serializers.CharField(source="task.id")
    type = serializers.CharField(source="task.type")
    title = serializers.CharField(source="task.title")
    description = serializers.CharField(source="task.description")
    url = serializers.CharField(source="task.url")
    verifies_membership = serializers.SerializerMethodField()
    status = serializers.CharField(help_text="available, started or completed")
    progress = serializers.IntegerField()
    requirement = serializers.IntegerField()
    reward_xp = serializers.IntegerField()
    awarded_xp = serializers.IntegerField()
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)

    def get_verifies_membership(self, state) -> bool:
        return bool(state.task.telegram_chat_id)


class TaskClaimSerializer(serializers.Serializer):
    awarded_xp = serializers.IntegerField()
    task = TaskStateSerializer()


class LeaderboardQuerySerializer(serializers.Serializer):
    board = serializers.ChoiceField(choices=BOARDS, default="xp")
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)


class LeaderboardMeQuerySerializer(serializers.Serializer):
    board = serializers.ChoiceField(choices=BOARDS, default="xp")


class LeaderboardEntrySerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    partner_id = serializers.IntegerField()
    name = serializers.CharField()
    score = serializers.IntegerField()
    xp_level = serializers.IntegerField()
    is_pro = serializers.BooleanField()


class LeaderboardRankSerializer(serializers.Serializer):
    board = serializers.CharField()
    rank = serializers.IntegerField(allow_null=True)
    score = serializers.IntegerField()
