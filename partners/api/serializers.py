from rest_framework import serializers

from partners.models import Notification, Partner

MONEY = {"max_digits": 24, "decimal_places": 6, "coerce_to_string": True}


class ReferrerSerializer(serializers.Serializer):
    name = serializers.CharField()
    referral_code = serializers.CharField()


class ProfileSerializer(serializers.Serializer):
    """GET /api/v1/me/. Built from `partners.selectors`-style dicts; fields owned by other apps
    (XP, balances, streaks) arrive through registered profile providers and default to zero."""

    id = serializers.IntegerField()
    telegram_id = serializers.IntegerField(allow_null=True)
    username = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    language = serializers.CharField()
    referral_code = serializers.CharField()
    referral_link = serializers.CharField()
    referrer = ReferrerSerializer(allow_null=True)
    xp = serializers.IntegerField(default=0)
    xp_level = serializers.IntegerField(default=1)
    rank = serializers.CharField(default="Beginner")
    xp_for_next_level = serializers.IntegerField(default=100)
    usdt_balance = serializers.DecimalField(default="0", **MONEY)
    usdt_available = serializers.DecimalField(default="0", **MONEY)
    total_earned_usdt = serializers.DecimalField(default="0", **MONEY)
    is_pro = serializers.BooleanField()
    pro_expires_at = serializers.DateTimeField(allow_null=True)
    checkin_streak = serializers.IntegerField(default=0)
    last_checkin_date = serializers.DateField(allow_null=True, default=None)
    longest_checkin_streak = serializers.IntegerField(default=0)
    checked_in_today = serializers.BooleanField(default=False)
    streak_freeze_available = serializers.BooleanField(default=False)
    badges = serializers.ListField(child=serializers.DictField(), default=list)
    direct_referrals = serializers.IntegerField()
    network_size = serializers.IntegerField()
    joined_at = serializers.DateTimeField()
    notifications_enabled = serializers.BooleanField()
    leaderboard_visibility = serializers.CharField()
    referral_notice = serializers.CharField(allow_null=True, required=False)


class ProfileUpdateSerializer(serializers.Serializer):
    language = serializers.ChoiceField(choices=Partner.Language.choices, required=False)
    notifications_enabled = serializers.BooleanField(required=False)
    leaderboard_visibility = serializers.ChoiceField(choices=Partner.LeaderboardVisibility.choices, required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Nothing to update: send language, notifications_enabled or leaderboard_visibility.")
        return attrs


class NetworkLevelCountSerializer(serializers.Serializer):
    level = serializers.IntegerField()
    count = serializers.IntegerField()


class NetworkSerializer(serializers.Serializer):
    levels = NetworkLevelCountSerializer(many=True)
    network_size = serializers.IntegerField()
    direct_referrals = serializers.IntegerField()


class NetworkMemberSerializer(serializers.Serializer):
    """Someone in the caller's downline: never their balances or codes."""

    name = serializers.CharField()
    username = serializers.CharField()
    joined_at = serializers.DateTimeField()
    is_pro = serializers.BooleanField()
    xp_level = serializers.IntegerField()


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Notification.Kind.choices)
    title = serializers.CharField()
    body = serializers.CharField()
    data = serializers.DictField()
    is_read = serializers.SerializerMethodField()
    read_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_is_read(self, obj) -> bool:
        return obj.read_at is not None


class NotificationsReadSerializer(serializers.Serializer):
    marked_read = serializers.IntegerField(help_text="how many unread notifications were marked read")
