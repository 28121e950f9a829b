import io
import re
from decimal import Decimal

import segno
from django.conf import settings
from rest_framework import serializers

from payments.models import Payment, Payout

MONEY = {"max_digits": 24, "decimal_places": 6, "coerce_to_string": True}
_PAYOUT_ADDRESS_PATTERNS = {
    # Raw (workchain:hex) or user-friendly (48 chars, base64 or base64url) TON addresses.
    "TON": re.compile(r"^(?:-?\d{1,3}:[0-9a-fA-F]{64}|[A-Za-z0-9_\-+/]{46}[A-Za-z0-9_\-+/=]{2})$"),
    "TRC20": re.compile(r"^T[1-9A-HJ-NP-Za-km-z]{33}$"),
    "ERC20": re.compile(r"^0x[0-9a-fA-F]{40}$"),
}


def qr_svg(data: str) -> str:
    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="svg", xmldecl=False, scale=4, border=2)
    return buffer.getvalue().decode()


class PaymentSerializer(serializers.ModelSerializer):
    price_usd = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)
    amount = serializers.SerializerMethodField()
    amount_nanotons = serializers.SerializerMethodField()
    ton_usd_rate = serializers.DecimalField(max_digits=24, decimal_places=9, coerce_to_string=True, allow_null=True)
    ton_link = serializers.CharField(allow_null=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "method",
            "status",
            "plan",
            "duration_days",
            "price_usd",
            "amount",
            "currency",
            "amount_nanotons",
            "ton_usd_rate",
            "address",
            "memo",
            "expires_at",
            "ton_link",
            "tx_hash",
            "review_reason",
            "created_at",
            "submitted_at",
            "completed_at",
            "refunded_at",
        ]
        read_only_fields = fields

    def get_amount(self, payment: Payment) -> str:
        places = Decimal("0.000000001") if payment.currency == "TON" else Decimal("0.000001")
        return str(payment.amount.quantize(places))

    def get_amount_nanotons(self, payment: Payment) -> str | None:
        # A string: JSON numbers this large lose precision in some clients.
        return None if payment.amount_nanotons is None else str(payment.amount_nanotons)


class PaymentDetailSerializer(PaymentSerializer):
    qr_svg = serializers.SerializerMethodField()

    class Meta(PaymentSerializer.Meta):
        fields = [*PaymentSerializer.Meta.fields, "qr_svg"]
        read_only_fields = fields

    def get_qr_svg(self, payment: Payment) -> str | None:
        """QR of the ton:// link (TON) or of the wallet address (USDT), while it can be paid."""
        if payment.status != Payment.Status.PENDING:
            return None
        return qr_svg(payment.ton_link or payment.address)


class PaymentCreateSerializer(serializers.Serializer):
    # Only the method is read: price and amount are always the server's.
    method = serializers.ChoiceField(choices=Payment.Method.choices)

    def to_internal_value(self, data):
        if hasattr(data, "get") and isinstance(data.get("method"), str):
            data = {"method": data.get("method").strip().upper()}
        return super().to_internal_value(data)


class PaymentCheckSerializer(serializers.Serializer):
    tx_hash = serializers.CharField(required=False, allow_blank=False, max_length=130, trim_whitespace=True)


class PayoutSerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(**MONEY)

    class Meta:
        model = Payout
        fields = ["id", "amount", "address", "network", "status", "tx_hash", "decision_note", "requested_at", "decided_at"]
        read_only_fields = fields


class PayoutCreateSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=24, decimal_places=6, min_value=Decimal("0.000001"))
    address = serializers.CharField(max_length=128, trim_whitespace=True)
    network = serializers.CharField(max_length=8)

    def validate_network(self, value: str) -> str:
        value = value.strip().upper()
        if value not in settings.PAYOUT_NETWORKS:
            raise serializers.ValidationError(f"Network must be one of: {', '.join(settings.PAYOUT_NETWORKS)}.")
        return value

    def validate(self, attrs):
        pattern = _PAYOUT_ADDRESS_PATTERNS.get(attrs["network"])
        if pattern is not None and not pattern.match(attrs["address"]):
            raise serializers.ValidationError({"address": [f"This is not a valid {attrs['network']} address."]})
        return attrs


class StaffNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class TonTransferAssignSerializer(StaffNoteSerializer):
    payment_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class PayoutApproveSerializer(StaffNoteSerializer):
    tx_hash = serializers.CharField(max_length=128, trim_whitespace=True)


class ProPlanSerializer(serializers.Serializer):
    plan = serializers.CharField()
    price_usd = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)
    duration_days = serializers.IntegerField()
    is_pro = serializers.BooleanField()
    pro_expires_at = serializers.DateTimeField(allow_null=True)


class LevelStatSerializer(serializers.Serializer):
    level = serializers.IntegerField()
    total_paid = serializers.DecimalField(**MONEY)
    total_reversed = serializers.DecimalField(**MONEY)
    count = serializers.IntegerField()


class TopEarnerSerializer(serializers.Serializer):
    partner_id = serializers.IntegerField()
    name = serializers.CharField()
    total_earned = serializers.DecimalField(**MONEY)


class CommissionStatsSerializer(serializers.Serializer):
    total_paid_24h = serializers.DecimalField(**MONEY)
    total_paid_7d = serializers.DecimalField(**MONEY)
    total_paid_30d = serializers.DecimalField(**MONEY)
    total_paid_all = serializers.DecimalField(**MONEY)
    total_reversed_all = serializers.DecimalField(**MONEY)
    by_level = LevelStatSerializer(many=True)
    top_earners = TopEarnerSerializer(many=True)
    review_count = serializers.IntegerField()
    transfers_to_review = serializers.IntegerField()
    payouts_requested = serializers.IntegerField()
    members = serializers.IntegerField()
    pro_buyers = serializers.IntegerField()
    active_pro = serializers.IntegerField()
    pro_conversion_rate = serializers.DecimalField(max_digits=6, decimal_places=4, coerce_to_string=True)
