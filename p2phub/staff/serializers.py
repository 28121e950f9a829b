from rest_framework import serializers

from p2phub.staff.tables import TABLES
from payments.api.serializers import MONEY, LevelStatSerializer, TopEarnerSerializer
from referrals.api.serializers import FunnelRowSerializer

RATE = {"max_digits": 6, "decimal_places": 4, "coerce_to_string": True}
PCT = {"max_digits": 12, "decimal_places": 2, "coerce_to_string": True}


class StatsQuerySerializer(serializers.Serializer):
    days = serializers.ChoiceField(choices=[14, 30], default=30, help_text="Length of the daily series.")
    top = serializers.IntegerField(min_value=1, max_value=100, default=10, help_text="How many top earners.")
    fresh = serializers.BooleanField(default=False, help_text="Compute now instead of serving beat's snapshot.")
    format = serializers.ChoiceField(choices=["json", "csv"], required=False)
    table = serializers.ChoiceField(choices=sorted(TABLES), required=False, help_text="With format=csv: which table.")

    def validate(self, attrs):
        if attrs.get("format") == "csv" and not attrs.get("table"):
            raise serializers.ValidationError({"table": [f"format=csv needs table=, one of: {', '.join(sorted(TABLES))}."]})
        return attrs


class CommissionTotalsSerializer(serializers.Serializer):
    total_paid_24h = serializers.DecimalField(**MONEY)
    total_paid_7d = serializers.DecimalField(**MONEY)
    total_paid_30d = serializers.DecimalField(**MONEY)
    total_paid_all = serializers.DecimalField(**MONEY)
    total_reversed_all = serializers.DecimalField(**MONEY)


class ProFiguresSerializer(serializers.Serializer):
    members = serializers.IntegerField()
    pro_buyers = serializers.IntegerField()
    active_pro = serializers.IntegerField()
    pro_conversion_rate = serializers.DecimalField(**RATE)


class ReviewQueuesSerializer(serializers.Serializer):
    review_count = serializers.IntegerField(help_text="USDT payments under review.")
    transfers_to_review = serializers.IntegerField()
    payouts_requested = serializers.IntegerField()


class FunnelLevelSerializer(serializers.Serializer):
    level = serializers.IntegerField()
    members = serializers.IntegerField(help_text="Members who have an upline at this level.")


class ChainDepthSerializer(serializers.Serializer):
    average = serializers.DecimalField(**PCT)
    max = serializers.IntegerField()
    roots = serializers.IntegerField()


class GrowthSerializer(serializers.Serializer):
    window = serializers.CharField()
    current = serializers.IntegerField()
    previous = serializers.IntegerField()
    change_pct = serializers.DecimalField(**PCT, allow_null=True)


class DailySerializer(serializers.Serializer):
    day = serializers.DateField()
    signups = serializers.IntegerField()
    pro_purchases = serializers.IntegerField()
    commissions_usdt = serializers.DecimalField(**MONEY)
    commission_reversals_usdt = serializers.DecimalField(**MONEY)
    checkins = serializers.IntegerField()


class ShareFunnelSerializer(serializers.Serializer):
    available = serializers.BooleanField()
    detail = serializers.CharField()
    platforms = FunnelRowSerializer(many=True)  # the same rows as a member's own funnel


class SummaryStateSerializer(serializers.Serializer):
    commissions_folded_through = serializers.DateField(allow_null=True)
    fold_grace_minutes = serializers.IntegerField()
    source = serializers.ChoiceField(
        choices=["live", "snapshot"],
        help_text=(
            "snapshot: the answer beat computed at generated_at (at most STATS_SNAPSHOT_MAX_AGE_SECONDS "
            "old); live: computed for this request."
        ),
    )


class StaffStatsSerializer(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    days = serializers.IntegerField()
    commissions = CommissionTotalsSerializer()
    commission_by_level = LevelStatSerializer(many=True)
    top_earners = TopEarnerSerializer(many=True)
    pro = ProFiguresSerializer()
    review_queues = ReviewQueuesSerializer()
    referral_funnel = FunnelLevelSerializer(many=True)
    chain_depth = ChainDepthSerializer()
    growth = GrowthSerializer(many=True)
    daily = DailySerializer(many=True)
    share_funnel = ShareFunnelSerializer()
    summary = SummaryStateSerializer()
