"""Staff screens that read across apps: the dashboard, the exception workbench (with mass actions
that call each owning app's service), customers with their sales history, the web app manifest."""

from __future__ import annotations

import json
from decimal import Decimal

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from customers.filters import CustomerFilter
from customers.forms import CustomerEmailForm, InteractionForm
from customers.models import Customer
from customers.selectors import credit_position_of, follow_ups_overdue_count, interactions_of
from fulfillment.selectors import OPEN_SHIPMENT_STATUSES
from fulfillment.services import step_retry
from oms.kernel.accesslog import access_record
from oms.kernel.exceptions import DomainError
from oms.kernel.formatting import iso_timestamp
from oms.kernel.roles import Role
from oms.kernel.web import (
    CRM_ROLES,
    CUSTOMER_READERS,
    DASHBOARD_ROLES,
    INVENTORY_ROLES,
    ORDER_READERS,
    SHIPPING_ROLES,
    csv_stream,
    error_text,
    has_any_role,
    page,
    paginate,
    role_required,
    sort_param,
)
from orders.actors import Actor
from orders.filters import OrderFilter
from orders.models import HoldCode
from orders.services import hold_apply
from rebates.checkbook import customer_tier_forecasts

from . import selectors, workbench
from .models import SavedSearch
from .services import saved_search_delete, saved_search_save

# --- dashboard -------------------------------------------------------------------------------------


@require_GET
@role_required(*DASHBOARD_ROLES)
def dashboard(request: HttpRequest) -> HttpResponse:
    today = selectors.orders_today_by_channel()
    per_day = selectors.orders_per_day()
    counts = selectors.exception_counts()
    by_channel_chart = {
        "type": "bar",
        "data": {
            "labels": [channel_label(r) for r in today],
            "datasets": [
                {
                    "label": "Revenue today",
                    "data": [float(r.revenue) for r in today],
                    "backgroundColor": "#1d5fbf",
                }
            ],
        },
        "options": {"maintainAspectRatio": False, "plugins": {"legend": {"display": False}}},
    }
    per_day_chart = {
        "type": "line",
        "data": {
            "labels": [d.strftime("%d %b") for d, _ in per_day],
            "datasets": [
                {
                    "label": "Orders",
                    "data": [n for _, n in per_day],
                    "borderColor": "#1f3a5f",
                    "backgroundColor": "rgba(29,95,191,.15)",
                    "fill": True,
                    "tension": 0.25,
                }
            ],
        },
        "options": {
            "maintainAspectRatio": False,
            "plugins": {"legend": {"display": False}},
            "scales": {"y": {"beginAtZero": True, "ticks": {"precision": 0}}},
        },
    }
    return page(
        request,
        "reporting/dashboard.html",
        {
            "today": today,
            "orders_today": sum(r.orders for r in today),
            "revenue": _sum_by_currency(today),
            "counts": counts,
            "holds_by_code": selectors.holds_by_code(),
            "low_stock": selectors.low_stock(),
            # Chart configs go to the page as JSON; Chart.js is vendored (no CDN).
            "by_channel_chart": json.dumps(by_channel_chart),
            "per_day_chart": json.dumps(per_day_chart),
            "links": _dashboard_links(request),
            # Overdue follow-ups of the signed-in user, for those who work leads and accounts.
            "follow_ups_overdue": follow_ups_overdue_count(
                owner_id=request.user.pk, today=timezone.localdate()
            )
            if has_any_role(request, CRM_ROLES)
            else None,
        },
    )


def _dashboard_links(request: HttpRequest) -> dict[str, str]:
    """Where each tile and count leads, for the screens this person may open (a tile they may
    not open stays plain text)."""
    links = {p.key: reverse("ui:workbench-panel", kwargs={"panel": p.key}) for p in _visible_panels(request)}
    if has_any_role(request, ORDER_READERS):
        links["orders_today"] = f"{reverse('ui:order-list')}?created_from={timezone.localdate().isoformat()}"
    if has_any_role(request, INVENTORY_ROLES):
        links["stock"] = reverse("inventory:stock")
    return links


def channel_label(row) -> str:
    """A chart label people read: the channel's name, and the currency only when the same
    channel sells in several ("Call center", "Web store (EUR)")."""
    return row.channel_name if not row.other_currencies else f"{row.channel_name} ({row.currency})"


def _sum_by_currency(rows) -> list[tuple[str, Decimal]]:
    out: dict[str, Decimal] = {}
    for r in rows:
        out[r.currency] = out.get(r.currency, Decimal(0)) + r.revenue
    return sorted(out.items())


# --- exception workbench: reporting/workbench.py ------------------------------------------------


PANELS = workbench.PANELS
_visible_panels = workbench.visible_panels


# --- customers -------------------------------------------------------------------------------------


@require_GET
@role_required(*CUSTOMER_READERS)
def customer_list(request: HttpRequest) -> HttpResponse:
    filters = CustomerFilter(request.GET or None, queryset=selectors.customer_list(), request=request)
    qs = filters.qs if not filters.is_bound or filters.is_valid() else filters.queryset.none()
    rows = paginate(request, qs, per_page=25)
    return page(
        request,
        "reporting/customer_list.html",
        {"rows": rows, "q": request.GET.get("q", ""), "filters": filters},
        status=400 if filters.is_bound and filters.form.errors else 200,
    )


customer_list.filterset_class = CustomerFilter


@require_GET
@role_required(*CUSTOMER_READERS)
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(
        Customer.objects.select_related("credit_exposure").prefetch_related("sites", "contacts"), pk=pk
    )
    orders = paginate(request, selectors.customer_sales_history(customer_id=customer.pk), per_page=20)
    access_record(request=request, kind="customer", object_ref=customer.pk)
    credit = credit_position_of(customer)
    # How far the customer is from the next tier of each volume rebate paying them.
    rebates = customer_tier_forecasts(customer.pk, today=timezone.localdate())
    return page(
        request,
        "reporting/customer_detail.html",
        {
            "customer": customer,
            "orders": orders,
            "credit": credit,
            "over_limit": max(-credit.available, 0),
            "rebates": rebates,
            # The latest interactions; the order history below owns the page's pager.
            "interactions": list(interactions_of(customer_id=customer.pk)[:10]),
            "interaction_form": InteractionForm(),
            "email_form": CustomerEmailForm(initial={"to": customer.email}),
        },
    )


# --- installable web app -----------------------------------------------------------------------------


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    data = {
        "name": "OMS back office",
        "short_name": "OMS",
        "start_url": reverse("ui:dashboard"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#f4f6f9",
        "theme_color": "#1f3a5f",
        "icons": [
            {"src": static("img/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": static("img/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    response = JsonResponse(data)
    response["Content-Type"] = "application/manifest+json"
    return response


# --- order search ----------------------------------------------------------------------------------

ORDER_SORTS = {
    "number": "number",
    "created": "created_at",
    "customer": "customer__name",
    "channel": "channel__code",
    "status": "status",
    "total": "total",
}
ORDER_FILTERS = tuple(OrderFilter.base_filters)


def _order_rows(request: HttpRequest) -> tuple[OrderFilter, QuerySet, str]:
    """The search (orders.filters.OrderFilter): an invalid value is shown on its field, with what
    was typed, and lists nothing rather than something the person did not ask for."""
    params = request.GET.copy()
    for key in ("sort", "page"):
        params.pop(key, None)
    filters = OrderFilter(
        params or None, queryset=selectors.order_search(viewer=request.user), request=request
    )
    sort, order_by = sort_param(request, ORDER_SORTS, "-created")
    qs = filters.qs if not filters.is_bound or filters.is_valid() else filters.queryset.none()
    return filters, qs.order_by(order_by, "-id"), sort


@require_GET
@role_required(*ORDER_READERS)
def order_list(request: HttpRequest) -> HttpResponse:
    return _order_list_page(request)


def _order_list_page(request: HttpRequest, saved_form: dict | None = None) -> HttpResponse:
    filters, qs, sort = _order_rows(request)
    rows = paginate(request, qs, per_page=25)
    params = request.GET.copy()
    params.pop("page", None)
    sort_params = params.copy()
    sort_params.pop("sort", None)
    return page(
        request,
        "reporting/order_list.html",
        {
            "form": filters.form,
            "rows": rows,
            "sort": sort,
            "querystring": params.urlencode(),
            "sort_querystring": sort_params.urlencode(),
            "saved": SavedSearch.objects.filter(user=request.user, screen="orders"),
            "saved_form": saved_form or {},
            "bulk_actions": BULK_ACTIONS,
            "hold_codes": HoldCode.objects.filter(active=True, is_system=False).order_by("code"),
            "columns": [
                ("number", "Order"),
                ("created", "Created"),
                ("customer", "Customer"),
                ("channel", "Channel"),
                ("status", "Status"),
                ("total", "Total"),
            ],
        },
        status=400 if saved_form or (filters.is_bound and filters.form.errors) else 200,
    )


order_list.filterset_class = OrderFilter


@require_GET
@role_required(*ORDER_READERS)
def order_export(request: HttpRequest) -> StreamingHttpResponse:
    """The current search as CSV, streamed row by row from a server-side cursor."""
    _, qs, _ = _order_rows(request)
    access_record(request=request, kind="export", object_ref="orders.csv", action="export")
    return _orders_csv(qs)


def _orders_csv(qs: QuerySet) -> StreamingHttpResponse:
    rows = (
        qs.prefetch_related(None)
        .values_list(
            "number",
            "revision",
            "created_at",
            "channel__code",
            "source_order_id",
            "customer__account_number",
            "customer__name",
            "customer_po",
            "status",
            "currency",
            "total",
        )
        .iterator(chunk_size=2000)
    )
    header = ["number", "revision", "created_at", "channel", "source_order_id", "customer_account",
              "customer_name", "customer_po", "status", "currency", "total"]  # fmt: skip
    return csv_stream(
        f"orders-{timezone.localdate().isoformat()}.csv",
        header,
        ((*r[:2], iso_timestamp(r[2]), *r[3:]) for r in rows),
    )


BULK_ACTIONS = {"export": "Export selected (CSV)", "hold": "Place a hold"}


@require_POST
@role_required(*ORDER_READERS)
def order_bulk(request: HttpRequest) -> HttpResponse:
    """Bulk actions on the rows ticked in the order list: export them, or place a hold on each
    through `hold_apply` (each order in its own transaction, so one refusal does not undo
    the others; the summary names the ones that failed)."""
    back = f"{reverse('ui:order-list')}?{request.POST.get('querystring', '')}"
    action = request.POST.get("action", "")
    numbers = list(dict.fromkeys(n for n in request.POST.getlist("numbers") if n))[:500]
    if action not in BULK_ACTIONS:
        messages.error(request, "Choose an action for the selected orders.")
        return redirect(back)
    if not numbers:
        messages.error(request, "Tick at least one order in the list.")
        return redirect(back)
    orders = selectors.order_search(viewer=request.user).filter(is_current=True, number__in=numbers)
    if action == "export":
        access_record(request=request, kind="export", object_ref="orders.csv", action="export")
        return _orders_csv(orders.order_by("number"))
    reason = request.POST.get("reason", "").strip()
    code = request.POST.get("code", "")
    if not reason or not code:
        messages.error(request, "A hold needs a hold code and a reason.")
        return redirect(back)
    actor = Actor.for_user(request.user)
    done, failed = 0, []
    for order_id, number in orders.order_by("number").values_list("id", "number"):
        try:
            hold_apply(order_id=order_id, actor=actor, code=code, reason=reason)
            done += 1
        except DomainError as exc:
            failed.append(f"{number}: {error_text(exc)}")
    if done:
        messages.success(request, f"Hold '{code}' placed on {done} {'order' if done == 1 else 'orders'}.")
    if failed:
        messages.error(request, f"{len(failed)} not held: " + "; ".join(failed[:10]))
    return redirect(back)


@require_POST
@role_required(*ORDER_READERS)
def saved_search_create(request: HttpRequest) -> HttpResponse:
    params = {k: request.POST.get(k, "") for k in (*ORDER_FILTERS, "sort")}
    try:
        saved = saved_search_save(
            user=request.user, screen="orders", name=request.POST.get("name", ""), params=params
        )
    except DomainError as exc:
        # Back to the same search (its filters kept), the name as typed, the problem on its field.
        request.GET = QueryDict(mutable=True)
        request.GET.update({k: v for k, v in params.items() if v})
        fields = exc.fields or {}
        problem = exc.message if len(fields) <= 1 else error_text(exc)
        return _order_list_page(request, saved_form={"name": request.POST.get("name", ""), "error": problem})
    messages.success(request, f"Saved search “{saved.name}”.")
    return redirect(f"{reverse('ui:order-list')}?{saved.query}")


@require_POST
@role_required(*ORDER_READERS)
def saved_search_remove(request: HttpRequest, pk: int) -> HttpResponse:
    saved_search_delete(user=request.user, saved_search_id=pk)
    messages.success(request, "Saved search deleted.")
    return redirect("ui:order-list")


# --- fulfillment and billing of one order ----------------------------------------------------------


@require_GET
@role_required(*ORDER_READERS)
def order_execution(request: HttpRequest, number: str) -> HttpResponse:
    """The order detail's fulfillment, shipment and invoice panels (loaded by htmx: orders sits
    below fulfillment and billing, so their reads are joined here, in the reporting layer)."""
    try:
        execution = selectors.order_execution(viewer=request.user, number=number)
    except DomainError as exc:
        raise Http404(exc.message) from exc
    return page(
        request,
        "reporting/partials/order_execution.html",
        {
            "execution": execution,
            "number": number,
            "can_retry": has_any_role(request, (Role.FULFILLMENT,)),
            "can_ship": has_any_role(request, SHIPPING_ROLES),
            "open_shipment_statuses": OPEN_SHIPMENT_STATUSES,
        },
    )


@require_POST
@role_required(Role.FULFILLMENT)
def order_step_retry(request: HttpRequest, number: str, step_id: int) -> HttpResponse:
    try:
        step_retry(step_id=step_id, actor=Actor.for_user(request.user).label)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, "The step will run again.")
    return redirect("orders:detail", number=number)
