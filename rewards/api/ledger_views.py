"""`GET /api/v1/me/ledger/?currency=XP|USDT`: the caller's ledger rows, newest first.

Works over the ledger registry (p2phub.ledgers), so the USDT ledger shows up here as soon as
payments registers it. XP amounts are integers, money amounts decimal strings (API.md)."""

from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, viewsets

from p2phub.api.pagination import NewestFirstCursorPagination
from p2phub.errors import DomainError
from p2phub.ledgers import all_ledgers, ledger_for
from partners.models import Partner

DEFAULT_CURRENCY = "XP"


def _amount(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    return int(value)


@extend_schema_field(
    {
        "oneOf": [{"type": "integer"}, {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}],
        "description": "integer for XP, decimal string for USDT",
    }
)
class LedgerAmountField(serializers.Field):
    """Schema only: XP rows carry an integer amount, money rows a decimal string (`_amount`)."""


class LedgerViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    pagination_class = NewestFirstCursorPagination

    def _currency(self) -> str:
        requested = (self.request.query_params.get("currency") or DEFAULT_CURRENCY).strip().upper()
        if ledger_for(requested) is None:
            known = ", ".join(sorted(source.currency for source in all_ledgers()))
            raise DomainError(f"Unknown currency {requested[:16]!r}; use one of: {known}.", code="unknown_currency")
        return requested

    def get_queryset(self):
        return ledger_for(self._currency()).entries_for(self.request.partner)

    @extend_schema(
        parameters=[OpenApiParameter("currency", OpenApiTypes.STR, enum=["XP", "USDT"], default=DEFAULT_CURRENCY)],
        responses=inline_serializer(
            "LedgerRow",
            {
                "id": serializers.IntegerField(),
                "currency": serializers.CharField(),
                "amount": LedgerAmountField(),
                "kind": serializers.CharField(),
                "level": serializers.IntegerField(allow_null=True),
                "related_partner": serializers.IntegerField(allow_null=True),
                "related_partner_name": serializers.CharField(allow_null=True),
                "created_at": serializers.DateTimeField(),
            },
            many=True,
        ),
    )
    def list(self, request, *args, **kwargs):
        currency = self._currency()
        page = self.paginate_queryset(ledger_for(currency).entries_for(request.partner))
        related_ids = {row.related_partner_id for row in page if row.related_partner_id}
        # One query for the page's names, whatever the page size.
        names = {p.pk: p.display_name for p in Partner.objects.filter(pk__in=related_ids).order_by()} if related_ids else {}
        rows = [
            {
                "id": row.pk,
                "currency": currency,
                "amount": _amount(row.amount),
                "kind": row.kind,
                "level": row.level,
                "related_partner": row.related_partner_id,
                "related_partner_name": names.get(row.related_partner_id),
                "created_at": row.created_at,
            }
            for row in page
        ]
        return self.get_paginated_response(rows)
