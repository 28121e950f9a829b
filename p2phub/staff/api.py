"""`GET /api/v1/staff/stats/`: every SPEC §13 figure; `?format=csv&table=<name>` one table."""

import csv
import io

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.api.views import CSVRenderer
from p2phub.api.permissions import IsStaff
from p2phub.staff.selectors import staff_stats_current
from p2phub.staff.serializers import StaffStatsSerializer, StatsQuerySerializer
from p2phub.staff.tables import TABLES

# Spreadsheet apps run cells starting with these as formulas; member names are member-controlled.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value  # text only: numbers (negative amounts too) stay numbers
    return value


def csv_text(columns: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([[_cell(value) for value in row] for row in rows])
    return out.getvalue()


class StaffStatsView(APIView):
    permission_classes = [IsStaff]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CSVRenderer]

    def perform_content_negotiation(self, request, force=False):
        # An unknown ?format= is a 400 with the allowed values (DRF alone would answer 404).
        fmt = request.query_params.get("format")
        if not force and fmt not in (None, "", "json", "csv", "api"):
            raise ValidationError({"format": ['Use format=json or format=csv (with table=).']})
        return super().perform_content_negotiation(request, force=force)

    def handle_exception(self, exc):
        # Errors are JSON even when the caller asked for CSV.
        if getattr(getattr(self.request, "accepted_renderer", None), "format", None) == "csv":
            self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), "application/json"
        return super().handle_exception(exc)

    @extend_schema(
        parameters=[StatsQuerySerializer],
        responses={200: StaffStatsSerializer, (200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request):
        query = StatsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        stats = staff_stats_current(days=params["days"], top=params["top"], fresh=params["fresh"])
        if params.get("format") == "csv":
            name = params["table"]
            columns, rows = TABLES[name](stats)
            response = HttpResponse(csv_text(columns, rows), content_type="text/csv; charset=utf-8")
            stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
            response["Content-Disposition"] = f'attachment; filename="staff-{name}-{stamp}.csv"'
            return response
        return Response(StaffStatsSerializer(stats).data)
