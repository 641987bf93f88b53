"""The reports' JSON API: thin views over the selectors (docs/reporting.md)."""

from __future__ import annotations

from urllib.parse import urlencode

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.kernel.api.errors import ErrorSerializer
from oms.kernel.exceptions import DomainError
from orders.states import OrderStatus
from partners.authentication import ChannelPrincipal

from . import operational
from .inputs import RankingQuerySerializer, ranking_request, report_filters
from .rollups import facts_kept
from .selectors import ranking

ERRORS = {400: ErrorSerializer, 403: ErrorSerializer}


class IsStaff(BasePermission):
    message = "Reports are for staff."

    def has_permission(self, request, view):
        user = request.user
        return not isinstance(user, ChannelPrincipal) and bool(getattr(user, "is_staff", False))


FILTERS = [
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="First day (default: 30 days ago)."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Last day (default: today)."),
    # A blank filter is refused (leave it out to mean any), so the schema says at least one character.
    OpenApiParameter("channel", {"type": "string", "minLength": 1}, description="A channel code."),
    OpenApiParameter("warehouse", {"type": "string", "minLength": 1}, description="A warehouse code."),
    OpenApiParameter(
        "status",
        {"type": "array", "items": {"type": "string", "enum": list(OrderStatus.values)}},
        explode=True,
        description="Order statuses (repeat the parameter).",
    ),
    OpenApiParameter("customer_group", str, enum=["standard", "priority", "strategic"]),
]


class RankingRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    key = serializers.CharField()
    label = serializers.CharField()
    value = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True)
    revenue = serializers.DecimalField(max_digits=24, decimal_places=4)
    units = serializers.DecimalField(max_digits=24, decimal_places=4)
    orders = serializers.IntegerField()
    aov = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True)
    margin = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True)
    share = serializers.DecimalField(max_digits=10, decimal_places=4, allow_null=True)
    previous_rank = serializers.IntegerField(allow_null=True)
    rank_change = serializers.IntegerField(allow_null=True, help_text="Places up (+) or down (-).")
    previous_value = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True)
    change_pct = serializers.DecimalField(max_digits=24, decimal_places=1, allow_null=True)
    orders_url = serializers.CharField(help_text="The orders behind the row (staff UI).")


class ReportTotalsSerializer(serializers.Serializer):
    revenue = serializers.DecimalField(max_digits=24, decimal_places=4)
    units = serializers.DecimalField(max_digits=24, decimal_places=4)
    orders = serializers.IntegerField()
    aov = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True)
    margin = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True)


class ReportExcludedSerializer(serializers.Serializer):
    canceled_lines = serializers.IntegerField()
    canceled_units = serializers.DecimalField(max_digits=24, decimal_places=4)
    canceled_revenue = serializers.DecimalField(max_digits=24, decimal_places=4)
    returned_units = serializers.DecimalField(max_digits=24, decimal_places=4)


class ReportPeriodSerializer(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()


class RankingPageSerializer(serializers.Serializer):
    dimension = serializers.CharField()
    metric = serializers.CharField()
    direction = serializers.CharField()
    currency = serializers.CharField()
    period = ReportPeriodSerializer()
    previous_period = ReportPeriodSerializer()
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    totals = ReportTotalsSerializer()
    previous_totals = ReportTotalsSerializer()
    excluded = ReportExcludedSerializer()
    note = serializers.CharField()
    results = RankingRowSerializer(many=True)
    csv_url = serializers.CharField()
    xlsx_url = serializers.CharField()


def _page_url(request, page: int) -> str:
    query = request.query_params.copy()
    query["page"] = str(page)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def ranking_payload(request, query, *, ui_base: str) -> dict:
    rr = ranking_request(query, request)
    r = ranking(
        filters=rr.filters,
        dimension=rr.dimension,
        metric=rr.metric,
        direction=rr.direction,
        limit=rr.page_size,
        offset=rr.offset,
        order_by_key=rr.sort == "key",
    )
    f = rr.filters
    prev_from, prev_to = f.previous
    plain = {k: v for k, v in query.items() if k not in ("page", "format")}
    statuses = query.getlist("status") if hasattr(query, "getlist") else []
    base_query = urlencode(
        [(k, v) for k, v in plain.items() if k != "status"] + [("status", s) for s in statuses]
    )
    rows = []
    for row in r.rows:
        drill = urlencode(
            [(k, v) for k, v in plain.items() if k not in ("status", "page_size", "sort", "direction")]
            + [("status", s) for s in statuses]
            + [("dimension", rr.dimension), ("key", row.key)]
        )
        rows.append({**row.__dict__, "orders_url": f"{ui_base}orders/?{drill}"})
    return {
        "dimension": r.dimension,
        "metric": r.metric,
        "direction": r.direction,
        "currency": f.currency,
        "period": {"date_from": f.date_from, "date_to": f.date_to},
        "previous_period": {"date_from": prev_from, "date_to": prev_to},
        "count": r.count,
        "next": _page_url(request, rr.page + 1) if rr.offset + rr.page_size < r.count else None,
        "previous": _page_url(request, rr.page - 1) if rr.page > 1 else None,
        "totals": r.totals,
        "previous_totals": r.previous_totals,
        "excluded": r.excluded,
        "note": r.note,
        "results": rows,
        "csv_url": f"{ui_base}export.csv?{base_query}",
        "xlsx_url": f"{ui_base}export.xlsx?{base_query}",
    }


class ReportsNeedPostgreSQL(DomainError):
    status_code = 503
    code = "reports_need_postgresql"
    default_message = "Reports need PostgreSQL; this installation runs on SQLite."


def _ensure_facts_kept() -> None:
    if not facts_kept():
        raise ReportsNeedPostgreSQL()


class RankingApi(APIView):
    """A ranking: top or bottom N of a metric by a dimension over a date range, with the share of
    the total and the rank and % change against the previous period of the same length."""

    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="reports_ranking",
        parameters=[RankingQuerySerializer, *FILTERS],
        responses={200: RankingPageSerializer, **ERRORS},
    )
    def get(self, request):
        _ensure_facts_kept()
        payload = ranking_payload(request, request.query_params, ui_base="/reports/rankings/")
        return Response(RankingPageSerializer(payload).data)


class OperationalReportSerializer(serializers.Serializer):
    report = serializers.CharField()
    title = serializers.CharField()
    period = ReportPeriodSerializer()
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField(child=serializers.CharField(allow_null=True)))
    summary = serializers.DictField(child=serializers.CharField(allow_null=True))
    note = serializers.CharField()


class OperationalReportApi(APIView):
    """An operational report (on-time rate, fill rate, backorder aging, cycle times, hold
    durations, purchase-order lead-time accuracy) over a date range."""

    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="reports_operational",
        parameters=[
            OpenApiParameter("report", str, OpenApiParameter.PATH, enum=sorted(operational.REPORTS)),
            *FILTERS[:3],
        ],
        responses={200: OperationalReportSerializer, 404: ErrorSerializer, **ERRORS},
    )
    def get(self, request, report: str):
        _ensure_facts_kept()
        filters = report_filters(request.query_params, request)
        result = operational.run(report, filters=filters)
        return Response(OperationalReportSerializer(result.as_dict()).data)
