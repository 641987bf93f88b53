"""Staff screens for stock and purchasing: positions with ATP, the movement ledger, adjustments,
transfers, reorder suggestions and purchase orders. Writes go through inventory.services."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog.models import Product
from oms.kernel.exceptions import DomainError
from oms.kernel.web import INVENTORY_ROLES, error_text, page, paginate, role_required

from .filters import MovementFilter, PurchaseOrderFilter, StockPositionFilter
from .forms import AdjustmentForm, TransferForm
from .models import (
    MovementKind,
    PurchaseOrder,
    PurchaseOrderLine,
    ReorderRule,
    StockMovement,
    StockPosition,
    Transfer,
    TransferLine,
    Warehouse,
)
from .selectors import availability, position_list
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


def _params(request: HttpRequest):
    """The search parameters of a list screen (without its page number), or None when unfiltered."""
    params = request.GET.copy()
    params.pop("page", None)
    return params or None


def _warehouse(request: HttpRequest) -> Warehouse | None:
    code = request.GET.get("warehouse")
    qs = Warehouse.objects.filter(active=True).order_by("code")
    return (qs.filter(code=code).first() if code else None) or qs.first()


@require_GET
@role_required(*INVENTORY_ROLES)
def stock(request: HttpRequest) -> HttpResponse:
    """Positions of one warehouse with available-to-promise today and the earliest date for one
    unit (ATP for the whole page in one query, whatever the number of rows)."""
    warehouse = _warehouse(request)
    sku = request.GET.get("sku", "").strip().upper()
    rows = None
    filters = StockPositionFilter(
        {"warehouse": warehouse.code if warehouse else "", "sku": sku},
        queryset=position_list(),
        request=request,
    )
    if warehouse is not None:
        qs = filters.qs if filters.is_valid() else filters.queryset.none()
        rows = paginate(request, qs, per_page=50)
        skus = [p.product.sku for p in rows]
        atp = availability(skus=skus, warehouse_id=warehouse.pk) if skus else {}
        today = timezone.localdate()
        for p in rows:
            a = atp.get(p.product.sku)
            p.atp_today = a.available_by(today) if a else None
            p.earliest_one = a.earliest_date(Decimal(1)) if a else None
    return page(
        request,
        "inventory/stock.html",
        {
            "warehouse": warehouse,
            "warehouses": Warehouse.objects.filter(active=True).order_by("code"),
            "rows": rows,
            "sku": sku,
            "filters": filters,
            "adjust_form": AdjustmentForm(initial={"warehouse": warehouse.code if warehouse else None}),
        },
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
            "rows": paginate(request, qs, per_page=50),
            "warehouses": Warehouse.objects.filter(active=True).order_by("code"),
            "filters": filters,
            "kinds": MovementKind.choices,
        },
        status=400 if filters.is_bound and filters.form.errors else 200,
    )


movements.filterset_class = MovementFilter


@require_POST
@role_required(*INVENTORY_ROLES)
def adjust(request: HttpRequest) -> HttpResponse:
    form = AdjustmentForm(request.POST)
    target = redirect("inventory:stock")
    if not form.is_valid():
        messages.error(
            request,
            "Adjustment not saved: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()),
        )
        return target
    d = form.cleaned_data
    product = Product.objects.filter(sku=d["sku"].strip().upper()).first()
    if product is None:
        messages.error(request, f"Unknown SKU {d['sku']}.")
        return target
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
        messages.error(request, error_text(exc))
    else:
        messages.success(
            request, f"{product.sku} in {d['warehouse'].code}: on hand is now {position.on_hand.normalize()}."
        )
    return redirect(f"{target.url}?warehouse={d['warehouse'].code}")


@require_http_methods(["GET", "POST"])
@role_required(*INVENTORY_ROLES)
def transfers(request: HttpRequest) -> HttpResponse:
    form = TransferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        product = Product.objects.filter(sku=d["sku"].strip().upper()).first()
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
    (and the draft POs the scans already raised, to approve on the purchasing screen)."""
    rules = (
        ReorderRule.objects.filter(active=True)
        .select_related("product", "warehouse", "preferred_supplier")
        .order_by("warehouse__code", "product__sku")
    )
    positions = {
        (p.product_id, p.warehouse_id): p
        for p in StockPosition.objects.filter(
            product_id__in=rules.values("product_id"), warehouse_id__in=rules.values("warehouse_id")
        )
    }
    rows = paginate(request, rules, per_page=50)
    for rule in rows:
        pos = positions.get((rule.product_id, rule.warehouse_id))
        rule.available = (pos.on_hand - pos.reserved) if pos else Decimal(0)
        rule.below = rule.available <= rule.reorder_point
    drafts = PurchaseOrder.objects.filter(from_reorder_scan=True, status=PurchaseOrderStatus.DRAFT).count()
    return page(request, "inventory/reorder.html", {"rows": rows, "drafts": drafts})


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
    for line in lines:
        line.open_quantity = max(line.quantity_ordered - line.quantity_received, Decimal(0))
    return page(
        request,
        "inventory/purchase_order_detail.html",
        {
            "po": po,
            "lines": lines,
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
