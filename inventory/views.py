"""Staff screens for stock and purchasing: positions with ATP, the movement ledger, adjustments,
transfers, reorder suggestions and purchase orders. Writes go through inventory.services."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog.models import Product
from oms.kernel.exceptions import DomainError
from oms.kernel.formatting import format_quantity
from oms.kernel.money import round_money
from oms.kernel.web import INVENTORY_ROLES, error_text, page, paginate, role_required

from .filters import MovementFilter, PurchaseOrderFilter, StockPositionFilter
from .forms import AdjustmentForm, TransferForm
from .models import (
    MovementKind,
    PurchaseOrder,
    PurchaseOrderLine,
    StockMovement,
    Transfer,
    TransferLine,
    Warehouse,
)
from .selectors import availability, position_list, reorder_rule_list, stock_across_warehouses
from .services import (
    ReceiptInput,
    TransferLineInput,
    purchase_order_receive,
    purchase_order_transition,
    reorder_scan,
    stock_adjust,
    transfer_cancel,
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from .states import PO_TRANSITIONS, TRANSFER_TRANSITIONS, PurchaseOrderStatus, TransferStatus

ALL_WAREHOUSES = "all"
PAGE_ROWS = 20  # a phone shows each row as a card: keep a page short


def _params(request: HttpRequest):
    """The search parameters of a list screen (without its page number), or None when unfiltered."""
    params = request.GET.copy()
    params.pop("page", None)
    return params or None


def _warehouse(code: str | None) -> Warehouse | None:
    qs = Warehouse.objects.filter(active=True).order_by("code")
    return (qs.filter(code=code).first() if code else None) or qs.first()


def _querystring(request: HttpRequest) -> str:
    """The page's filters without its page number, for the pager's links."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@require_GET
@role_required(*INVENTORY_ROLES)
def stock(request: HttpRequest) -> HttpResponse:
    return _stock_page(request, request.GET.get("warehouse"))


def _stock_page(
    request: HttpRequest, code: str | None, adjust_form: AdjustmentForm | None = None
) -> HttpResponse:
    """Positions of one warehouse with available-to-promise today and the earliest date for one
    unit (ATP for the whole page in one query, whatever the number of rows); or every warehouse
    side by side (`?warehouse=all`), one row per product."""
    warehouses = list(Warehouse.objects.filter(active=True).order_by("code"))
    across = code == ALL_WAREHOUSES
    warehouse = None if across else _warehouse(code)
    sku = request.GET.get("sku", "").strip().upper()
    rows = None
    filters = StockPositionFilter(
        {"warehouse": warehouse.code if warehouse else "", "sku": sku},
        queryset=position_list(),
        request=request,
    )
    if across:
        rows = paginate(request, stock_across_warehouses(sku_prefix=sku), per_page=PAGE_ROWS)
        for product in rows:
            by_wh = {p.warehouse_id: p for p in product.positions}
            product.cells = [(w, by_wh.get(w.pk)) for w in warehouses]
            product.total_on_hand = sum((p.on_hand for p in product.positions), Decimal(0))
            product.total_available = sum((p.on_hand - p.reserved for p in product.positions), Decimal(0))
    elif warehouse is not None:
        qs = filters.qs if filters.is_valid() else filters.queryset.none()
        rows = paginate(request, qs, per_page=PAGE_ROWS)
        skus = [p.product.sku for p in rows]
        atp = availability(skus=skus, warehouse_id=warehouse.pk) if skus else {}
        today = timezone.localdate()
        for p in rows:
            a = atp.get(p.product.sku)
            p.atp_today = a.available_by(today) if a else None
            p.earliest_one = a.earliest_date(Decimal(1)) if a else None
    if adjust_form is None:
        adjust_form = AdjustmentForm(initial={"warehouse": warehouse.code if warehouse else None})
    return page(
        request,
        "inventory/stock.html",
        {
            "warehouse": warehouse,
            "across": across,
            "warehouses": warehouses,
            "rows": rows,
            "sku": sku,
            "filters": filters,
            "adjust_form": adjust_form,
            "querystring": _querystring(request),
        },
        status=400 if adjust_form.errors else 200,
    )


stock.filterset_class = StockPositionFilter


@require_GET
@role_required(*INVENTORY_ROLES)
def movements(request: HttpRequest) -> HttpResponse:
    qs = StockMovement.objects.select_related("position__product", "position__warehouse", "user").order_by(
        "-created_at", "-id"
    )
    filters = MovementFilter(_params(request), queryset=qs, request=request)
    qs = filters.qs if not filters.is_bound or filters.is_valid() else qs.none()
    return page(
        request,
        "inventory/movements.html",
        {
            "rows": paginate(request, qs, per_page=PAGE_ROWS),
            "warehouses": Warehouse.objects.filter(active=True).order_by("code"),
            "filters": filters,
            "kinds": MovementKind.choices,
            "querystring": _querystring(request),
        },
        status=400 if filters.is_bound and filters.form.errors else 200,
    )


movements.filterset_class = MovementFilter


@require_POST
@role_required(*INVENTORY_ROLES)
def adjust(request: HttpRequest) -> HttpResponse:
    """A refused adjustment shows the same warehouse's stock again, the form as typed and the
    problem on its field."""
    form = AdjustmentForm(request.POST)
    posted_warehouse = request.POST.get("warehouse") or None
    if form.is_valid():
        d = form.cleaned_data
        product = Product.objects.filter(sku=d["sku"].strip().upper()).select_related("uom").first()
        if product is None:
            form.add_error("sku", f"No product has the SKU {d['sku'].strip().upper()}.")
        else:
            try:
                position = stock_adjust(
                    product_id=product.pk,
                    warehouse_id=d["warehouse"].pk,
                    quantity=d["quantity"],
                    reason=d["reason"],
                    kind=d["kind"],
                    actor=request.user,
                    reference="staff UI",
                )
            except DomainError as exc:
                fields = {f: ps for f, ps in (exc.fields or {}).items() if f in form.fields}
                for field, problems in fields.items():
                    form.add_error(field, exc.message if len(fields) == 1 else " ".join(map(str, problems)))
                if not fields:
                    form.add_error(None, error_text(exc))
            else:
                on_hand = format_quantity(position.on_hand, product.uom.decimal_places)
                where = f"{product.sku} in {d['warehouse'].code}"
                messages.success(request, f"{where}: on hand is now {on_hand} {product.uom.code}.")
                return redirect(f"{reverse('inventory:stock')}?warehouse={d['warehouse'].code}")
    request.GET = request.GET.copy()
    request.GET["warehouse"] = posted_warehouse or ""
    return _stock_page(request, posted_warehouse, adjust_form=form)


@require_http_methods(["GET", "POST"])
@role_required(*INVENTORY_ROLES)
def transfers(request: HttpRequest) -> HttpResponse:
    form = TransferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        product = Product.objects.filter(sku=d["sku"].strip().upper()).select_related("uom").first()
        if product is None:
            form.add_error("sku", "Unknown SKU.")
        else:
            try:
                transfer = transfer_create(
                    from_warehouse_id=d["from_warehouse"].pk,
                    to_warehouse_id=d["to_warehouse"].pk,
                    lines=[TransferLineInput(product_id=product.pk, quantity=d["quantity"])],
                    expected_arrival=d.get("expected_arrival"),
                    actor=request.user,
                )
            except DomainError as exc:
                messages.error(request, error_text(exc))
            else:
                messages.success(request, f"Transfer #{transfer.pk} created.")
                return redirect("inventory:transfers")
    qs = (
        Transfer.objects.select_related("from_warehouse", "to_warehouse")
        .prefetch_related(Prefetch("lines", queryset=TransferLine.objects.select_related("product")))
        .order_by("-created_at", "-id")
    )
    rows = paginate(request, qs, per_page=25)
    for t in rows:
        t.allowed = TRANSFER_TRANSITIONS.get(t.status, frozenset())
    return page(
        request,
        "inventory/transfers.html",
        {"rows": rows, "form": form, "TS": TransferStatus},
        status=400 if form.errors else 200,
    )


_TRANSFER_ACTIONS = {"ship": transfer_ship, "receive": transfer_receive, "cancel": transfer_cancel}


@require_POST
@role_required(*INVENTORY_ROLES)
def transfer_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    service = _TRANSFER_ACTIONS.get(action)
    if service is None:
        raise Http404("No such action.")
    try:
        service(transfer_id=pk, actor=request.user)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"Transfer #{pk}: {action} done.")
    return redirect("inventory:transfers")


@require_GET
@role_required(*INVENTORY_ROLES)
def reorder(request: HttpRequest) -> HttpResponse:
    """Reorder rules whose position has fallen to the reorder point: what the next scan will buy
    (`?show=all` lists every rule), and the draft POs the scans already raised, to approve on
    the purchasing screen."""
    show_all = request.GET.get("show") == "all"
    rows = paginate(request, reorder_rule_list(only_to_reorder=not show_all), per_page=PAGE_ROWS)
    drafts = PurchaseOrder.objects.filter(from_reorder_scan=True, status=PurchaseOrderStatus.DRAFT).count()
    return page(
        request,
        "inventory/reorder.html",
        {"rows": rows, "drafts": drafts, "show_all": show_all, "querystring": _querystring(request)},
    )


@require_POST
@role_required(*INVENTORY_ROLES)
def reorder_run(request: HttpRequest) -> HttpResponse:
    result = reorder_scan()
    messages.success(
        request,
        f"Reorder scan: {result.purchase_orders_created} purchase orders and "
        f"{result.lines_created} lines created, {result.lines_topped_up} lines topped up.",
    )
    return redirect("inventory:reorder")


@require_GET
@role_required(*INVENTORY_ROLES)
def purchase_orders(request: HttpRequest) -> HttpResponse:
    qs = PurchaseOrder.objects.select_related("supplier", "warehouse").order_by("-created_at", "-id")
    filters = PurchaseOrderFilter(_params(request), queryset=qs, request=request)
    qs = filters.qs if not filters.is_bound or filters.is_valid() else qs.none()
    return page(
        request,
        "inventory/purchase_orders.html",
        {
            "rows": paginate(request, qs, per_page=25),
            "statuses": PurchaseOrderStatus.choices,
            "status": request.GET.get("status", ""),
            "filters": filters,
        },
        status=400 if filters.is_bound and filters.form.errors else 200,
    )


purchase_orders.filterset_class = PurchaseOrderFilter


@require_GET
@role_required(*INVENTORY_ROLES)
def purchase_order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    po = get_object_or_404(
        PurchaseOrder.objects.select_related("supplier", "warehouse").prefetch_related(
            Prefetch("lines", queryset=PurchaseOrderLine.objects.select_related("product").order_by("pk"))
        ),
        pk=pk,
    )
    allowed = PO_TRANSITIONS.get(po.status, frozenset())
    lines = list(po.lines.all())
    total = Decimal(0)
    for line in lines:
        line.open_quantity = max(line.quantity_ordered - line.quantity_received, Decimal(0))
        line.total = (
            round_money(line.quantity_ordered * line.unit_cost, po.currency)
            if line.unit_cost is not None
            else None
        )
        total += line.total or Decimal(0)
    return page(
        request,
        "inventory/purchase_order_detail.html",
        {
            "po": po,
            "lines": lines,
            "total": round_money(total, po.currency),
            "unpriced": sum(1 for line in lines if line.unit_cost is None),
            "can_approve": PurchaseOrderStatus.APPROVED in allowed,
            "can_send": PurchaseOrderStatus.SENT in allowed,
            "can_cancel": PurchaseOrderStatus.CANCELED in allowed,
            "can_close": PurchaseOrderStatus.CLOSED in allowed,
            "can_receive": po.status in (PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTIALLY_RECEIVED),
        },
    )


_PO_TARGETS = {
    "approve": PurchaseOrderStatus.APPROVED,
    "send": PurchaseOrderStatus.SENT,
    "cancel": PurchaseOrderStatus.CANCELED,
    "close": PurchaseOrderStatus.CLOSED,
}


@require_POST
@role_required(*INVENTORY_ROLES)
def purchase_order_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    target = _PO_TARGETS.get(action)
    if target is None:
        raise Http404("No such action.")
    try:
        purchase_order_transition(purchase_order_id=pk, target=target, actor=request.user)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"Purchase order #{pk} is now {PurchaseOrderStatus(target).label.lower()}.")
    return redirect("inventory:purchase-order", pk=pk)


@require_POST
@role_required(*INVENTORY_ROLES)
def purchase_order_receive_view(request: HttpRequest, pk: int) -> HttpResponse:
    receipts = []
    for key, value in request.POST.items():
        if key.startswith("receive-") and value.strip():
            try:
                qty = Decimal(value)
            except InvalidOperation:
                messages.error(request, f"'{value}' is not a quantity.")
                return redirect("inventory:purchase-order", pk=pk)
            if qty:
                receipts.append(ReceiptInput(line_id=int(key.removeprefix("receive-")), quantity=qty))
    try:
        purchase_order_receive(
            purchase_order_id=pk,
            lines=receipts,
            reference=request.POST.get("reference", ""),
            actor=request.user,
        )
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, "Receipt recorded.")
    return redirect("inventory:purchase-order", pk=pk)
