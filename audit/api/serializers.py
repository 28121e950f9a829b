from rest_framework import serializers

from audit.models import AuditLog, EventType


class AuditLogFilterSerializer(serializers.Serializer):
    partner = serializers.IntegerField(required=False, min_value=1)
    event_type = serializers.ChoiceField(choices=EventType.choices, required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)

    def validate(self, attrs):
        if attrs.get("since") and attrs.get("until") and attrs["since"] > attrs["until"]:
            raise serializers.ValidationError({"until": "until must not be before since."})
        return attrs


class AuditLogSerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(max_digits=24, decimal_places=6, coerce_to_string=True, allow_null=True)
    actor = serializers.IntegerField(source="actor_id", allow_null=True)

    class Meta:
        model = AuditLog
        fields = (
            "id",
            "created_at",
            "event_type",
            "partner_id",
            "related_partner_id",
            "amount",
            "currency",
            "metadata",
            "actor",
            "actor_label",
            "ip",
            "user_agent",
            "request_id",
            "prev_hash",
            "hash",
        )
        read_only_fields = fields
