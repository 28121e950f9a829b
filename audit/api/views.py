"""Staff audit-log API (API.md): filter by partner, event type and date range; cursor-paginated
newest first; `?format=csv` streams the same selection as CSV."""

import csv
import json

from django.db import transaction
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer

from audit.api.serializers import AuditLogFilterSerializer, AuditLogSerializer
from audit.models import AuditLog, EventType
from audit.services import audit_record
from p2phub.api.pagination import NewestFirstCursorPagination
from p2phub.api.permissions import IsStaff

CSV_COLUMNS = AuditLogSerializer.Meta.fields
# Spreadsheet apps run cells starting with these as formulas; user agents are client-controlled.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class CSVRenderer(BaseRenderer):
    """Lets DRF's `?format=csv` negotiation select the CSV branch; the view streams the body."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, (bytes, str)) else b""


class _Echo:
    def write(self, value):
        return value


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


class AuditLogViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsStaff]
    serializer_class = AuditLogSerializer
    pagination_class = NewestFirstCursorPagination
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CSVRenderer]

    def _filters(self) -> dict:
        params = {key: value for key, value in self.request.query_params.items() if key != "format" and value != ""}
        serializer = AuditLogFilterSerializer(data=params)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def get_queryset(self):
        filters = self._filters()
        queryset = AuditLog.objects.all()
        if "partner" in filters:
            queryset = queryset.filter(partner_id=filters["partner"])
        if "event_type" in filters:
            queryset = queryset.filter(event_type=filters["event_type"])
        if "since" in filters:
            queryset = queryset.filter(created_at__gte=filters["since"])
        if "until" in filters:
            queryset = queryset.filter(created_at__lte=filters["until"])
        return queryset

    @extend_schema(parameters=[AuditLogFilterSerializer])
    def list(self, request, *args, **kwargs):
        if request.accepted_renderer.format == "csv":
            return self._csv(request)
        return super().list(request, *args, **kwargs)

    def _csv(self, request):
        queryset = self.get_queryset().order_by("-id")
        with transaction.atomic():
            audit_record(
                EventType.STAFF_ACTION,
                actor=request.user,
                metadata={
                    "action": "audit_log_export",
                    "filters": {k[:32]: v[:200] for k, v in request.query_params.items()},
                },
            )
        writer = csv.writer(_Echo())

        def rows():
            yield writer.writerow(CSV_COLUMNS)
            for row in queryset.iterator(chunk_size=2000):
                data = AuditLogSerializer(row).data
                yield writer.writerow([_cell(data[column]) for column in CSV_COLUMNS])

        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
        return response
