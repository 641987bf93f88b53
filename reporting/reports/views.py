"""The staff reports section: thin views over the selectors. Every filter is in the URL, so a
view can be bookmarked and shared."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import wraps

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from oms.kernel.exceptions import DomainError
from oms.kernel.web import DASHBOARD_ROLES, error_text, page, paginate, role_required

from . import operational
from .api import ranking_payload
from .exports import ranking_csv, ranking_xlsx
from .filters import SalesFactFilter
from .inputs import ranking_request, report_filters
from .mailing import scheduled_report_save
from .models import SalesFact
from .rollups import facts_kept
from .selectors import DATE_DIMENSIONS, DIMENSIONS, METRICS, ranking_iter, ranking_orders

REPORT_ROLES = DASHBOARD_ROLES
PRESETS = (("7d", "Last 7 days", 7), ("30d", "Last 30 days", 30), ("90d", "Last 90 days", 90),
           ("365d", "Last 12 months", 365))  # fmt: skip


def _given(request: HttpRequest) -> QueryDict:
    """The staff form submits every field: a blank one means "any", so it is dropped here (the
    API, by contrast, refuses a blank parameter). The last of repeated values wins for `compare`
    (a hidden 0 before the checkbox)."""
    query = QueryDict(mutable=True)
    for name, values in request.GET.lists():
        kept = [v for v in values if v.strip()]
        if name == "compare" and kept:
            kept = kept[-1:]
        if kept:
            query.setlist(name, kept)
    return query


class _RequestShim:
    """What `ranking_payload` reads from a DRF request, for the staff screen."""

    def __init__(self, request: HttpRequest, query: QueryDict):
        self.query_params = query
        self.path = "/api/v1/reports/rankings"
        self._request = request

    def build_absolute_uri(self, location: str) -> str:
        return location


def _presets(request: HttpRequest) -> list[dict[str, str]]:
    today = timezone.localdate()
    out = []
    for code, label, days in PRESETS:
        query = _given(request)
        query["date_from"] = (today - timedelta(days=days - 1)).isoformat()
        query["date_to"] = today.isoformat()
        query.pop("page", None)
        out.append({"code": code, "label": label, "query": query.urlencode()})
    return out


def _chart(payload: dict, dimension: str, metric: str, compare: bool) -> str:
    rows = payload["results"]
    period = payload["period"]
    current = {
        "label": f"{metric}, {period['date_from']} to {period['date_to']}",
        "data": [float(r["value"]) for r in rows],
        "backgroundColor": "#1d5fbf",
        "borderColor": "#1d5fbf",
    }
    datasets = [current]
    if compare:
        previous = [None if r["previous_value"] is None else float(r["previous_value"]) for r in rows]
        datasets.append(
            {
                "label": "previous period",
                "data": previous,
                "backgroundColor": "#9fb7d9",
                "borderColor": "#9fb7d9",
            }
        )
    return json.dumps(
        {
            "type": "line" if dimension in DATE_DIMENSIONS else "bar",
            "data": {"labels": [r["label"][:40] for r in rows], "datasets": datasets},
            "options": {"maintainAspectRatio": False},
        }
    )


@require_GET
@role_required(*REPORT_ROLES)
def index(request: HttpRequest) -> HttpResponse:
    return page(
        request,
        "reporting/reports/index.html",
        {
            "dimensions": sorted(DIMENSIONS),
            "operational": operational.TITLES,
            "presets": _presets(request),
            "needs_postgresql": not facts_kept(),
        },
    )


def _needs_postgresql(view):
    """On SQLite the facts are not kept: a report says so (503) instead of failing."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not facts_kept():
            return page(request, "reporting/reports/unavailable.html", status=503)
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@role_required(*REPORT_ROLES)
@_needs_postgresql
def ranking_view(request: HttpRequest) -> HttpResponse:
    query = _given(request)
    filters = SalesFactFilter(query or None, queryset=SalesFact.objects.none(), request=request)
    context = {
        "filters": filters,
        "dimensions": sorted(DIMENSIONS),
        "metrics": METRICS,
        "presets": _presets(request),
        "q": request.GET,
        "period_from": request.GET.get("date_from", ""),
        "period_to": request.GET.get("date_to", ""),
        "currency": request.GET.get("currency", ""),
        "report": None,
        "errors": None,
        "compare": request.GET.get("compare", "1") != "0",
    }
    try:
        payload = ranking_payload(_RequestShim(request, query), query, ui_base="/reports/rankings/")
    except DomainError as exc:
        context["errors"] = exc.fields or {"request": [exc.message]}
        return page(request, "reporting/reports/ranking.html", context, status=400)
    rr = ranking_request(query)
    compare = query.get("compare", "1") != "0"
    context.update(
        {
            "report": payload,
            "chart": _chart(payload, rr.dimension, rr.metric, compare),
            "dimension": rr.dimension,
            "metric": rr.metric,
            "direction": rr.direction,
            "compare": compare,
            "period_from": rr.filters.date_from.isoformat(),
            "period_to": rr.filters.date_to.isoformat(),
            "currency": rr.filters.currency,
        }
    )
    return page(request, "reporting/reports/ranking.html", context)


ranking_view.filterset_class = SalesFactFilter


@require_GET
@role_required(*REPORT_ROLES)
@_needs_postgresql
def ranking_orders_view(request: HttpRequest) -> HttpResponse:
    given = _given(request)
    filters = SalesFactFilter(given or None, queryset=SalesFact.objects.all(), request=request)
    dimension, key = request.GET.get("dimension", ""), request.GET.get("key", "")
    context = {"filters": filters, "q": request.GET, "rows": None, "errors": None, "dimension": dimension,
               "key": key, "back": ""}  # fmt: skip
    try:
        report_filters(given)
        if not filters.is_valid():
            raise DomainError("Fix the filters.", fields=dict(filters.form.errors))
        rows = ranking_orders(facts=filters.qs, dimension=dimension, key=key)
    except DomainError as exc:
        context["errors"] = exc.fields or {"request": [exc.message]}
        return page(request, "reporting/reports/orders.html", context, status=400)
    query = given.copy()
    query.pop("page", None)
    back = given.copy()
    for name in ("key", "page"):
        back.pop(name, None)
    context.update(
        {
            "rows": paginate(request, rows),
            "dimension": dimension,
            "key": key,
            "querystring": query.urlencode(),
            "back": back.urlencode(),
        }
    )
    return page(request, "reporting/reports/orders.html", context)


ranking_orders_view.filterset_class = SalesFactFilter


def _export(request: HttpRequest, kind: str) -> HttpResponse:
    try:
        rr = ranking_request(_given(request))
        rows = ranking_iter(filters=rr.filters, dimension=rr.dimension, metric=rr.metric,
                            direction=rr.direction, order_by_key=rr.sort == "key")  # fmt: skip
        first = next(rows, None)
    except DomainError as exc:
        return HttpResponse(f"{exc.message} {json.dumps(exc.fields)}", status=400, content_type="text/plain")

    def all_rows():
        if first is not None:
            yield first
            yield from rows

    f = rr.filters
    name = f"{rr.metric}-by-{rr.dimension}-{f.date_from}-{f.date_to}.{kind}"
    note = (f"{rr.direction} by {rr.metric}, {f.currency}, {f.date_from} to {f.date_to}. "
            "Canceled lines and orders are excluded; the OMS records no returns yet.")  # fmt: skip
    if kind == "csv":
        return ranking_csv(all_rows(), filename=name, note=note)
    return ranking_xlsx(all_rows(), filename=name, note=note)


@require_GET
@role_required(*REPORT_ROLES)
@_needs_postgresql
def export_csv(request: HttpRequest) -> HttpResponse:
    return _export(request, "csv")


@require_GET
@role_required(*REPORT_ROLES)
@_needs_postgresql
def export_xlsx(request: HttpRequest) -> HttpResponse:
    return _export(request, "xlsx")


@require_GET
@role_required(*REPORT_ROLES)
@_needs_postgresql
def operational_view(request: HttpRequest, report: str) -> HttpResponse:
    context = {
        "titles": operational.TITLES,
        "current": report,
        "q": request.GET,
        "period_from": request.GET.get("date_from", ""),
        "period_to": request.GET.get("date_to", ""),
        "result": None,
        "table": [],
        "errors": None,
    }
    try:
        result = operational.run(report, filters=report_filters(_given(request)))
    except DomainError as exc:
        context["errors"] = exc.fields or {"report": [exc.message]}
        return page(request, "reporting/reports/operational.html", context, status=exc.status_code)
    context["result"] = result.as_dict()
    context["table"] = [list(zip(result.columns, row, strict=False)) for row in context["result"]["rows"]]
    context["period_from"] = result.filters.date_from.isoformat()
    context["period_to"] = result.filters.date_to.isoformat()
    return page(request, "reporting/reports/operational.html", context)


@require_POST
@role_required(*REPORT_ROLES)
def schedule_create(request: HttpRequest) -> HttpResponse:
    """Mail the ranking on screen daily or weekly (its filters, without its dates)."""
    query = request.POST.get("query", "")
    try:
        weekday = int(request.POST.get("weekday") or 0)
    except ValueError:
        weekday = -1
    try:
        report = scheduled_report_save(
            owner=request.user,
            name=request.POST.get("name", ""),
            query=query,
            recipients=request.POST.get("recipients", ""),
            frequency=request.POST.get("frequency", ""),
            weekday=weekday,
        )
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"'{report.name}' will be mailed {report.get_frequency_display().lower()}.")
    return redirect(f"/reports/rankings/?{query}")
