"""Staff screens for the warehouse: shipments to send, and confirming one (all of it or part,
with tracking) through the same shipment service a warehouse partner's advice uses."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inventory.models import Warehouse
from oms.kernel.exceptions import DomainError, NotFound, ValidationFailed
from oms.kernel.roles import Role
from oms.kernel.web import (
    ORDER_READERS,
    SHIPPING_ROLES,
    error_text,
    has_any_role,
    is_htmx,
    page,
    paginate,
    role_required,
)
from orders.actors import Actor

from .forms import ShipmentConfirmForm
from .selectors import (
    OPEN_SHIPMENT_STATUSES,
    order_whatif_lines,
    shipment_for_confirmation,
    shipments_to_confirm,
)
from .services import shipment_confirm
from .services.whatif import whatif_apply, whatif_line, whatif_options


@require_GET
@role_required(*SHIPPING_ROLES)
def shipment_list(request: HttpRequest) -> HttpResponse:
    warehouse = request.GET.get("warehouse", "")
    order = request.GET.get("order", "").strip()
    rows = paginate(request, shipments_to_confirm(warehouse=warehouse, order=order), per_page=20)
    params = request.GET.copy()
    params.pop("page", None)
    return page(
        request,
        "fulfillment/shipments.html",
        {
            "rows": rows,
            "warehouses": Warehouse.objects.filter(active=True).order_by("code"),
            "filters": {"warehouse": warehouse, "order": order},
            "querystring": params.urlencode(),
        },
    )


@require_http_methods(["GET", "POST"])
@role_required(*SHIPPING_ROLES)
def shipment_confirm_view(request: HttpRequest, number: str) -> HttpResponse:
    try:
        shipment = shipment_for_confirmation(number=number)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    form = ShipmentConfirmForm(request.POST or None, shipment=shipment)
    open_ = shipment.status in OPEN_SHIPMENT_STATUSES
    if request.method == "POST" and form.is_valid():
        try:
            result = shipment_confirm(
                shipment_number=shipment.number,
                actor=Actor.for_user(request.user).label,
                lines=form.advice_lines(),
                carrier=form.cleaned_data["carrier"],
                service=form.cleaned_data["service"],
                tracking_number=form.cleaned_data["tracking_number"],
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc.fields or {})
            if not exc.fields:
                form.add_error(None, exc.message)
        except DomainError as exc:
            form.add_error(None, error_text(exc))
        else:
            remainders = [ln for ln in result["lines"] if ln["remainder_line"]]
            note = (
                " The rest waits in a new shipment request."
                if remainders
                else " Everything requested shipped."
            )
            messages.success(request, f"Shipment {shipment.number} confirmed as shipped.{note}")
            return redirect("orders:detail", number=shipment.order_number)
    return page(
        request,
        "fulfillment/shipment_confirm.html",
        {"shipment": shipment, "form": form, "can_confirm": open_},
        status=400 if form.errors else 200,
    )


# --- what-if -------------------------------------------------------------------------------------

# Who may choose an alternative (everyone who reads orders may look at them).
WHATIF_APPLIERS = (Role.ORDER_DESK, Role.FULFILLMENT)
PANEL = "fulfillment/partials/whatif_panel.html"


def _whatif_context(request: HttpRequest, line_id: int, **extra) -> dict:
    try:
        line = whatif_line(viewer=request.user, line_id=line_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return {
        "whatif": whatif_options(line=line),
        "line": line,
        "can_apply": has_any_role(request, WHATIF_APPLIERS),
        **extra,
    }


@require_GET
@role_required(*ORDER_READERS)
def line_whatif(request: HttpRequest, line_id: int) -> HttpResponse:
    """The what-if panel of one fulfillment line: a partial for htmx (the order page and the
    exception workbench embed it), a page of its own otherwise. Reads only."""
    context = _whatif_context(request, line_id)
    return page(request, PANEL if is_htmx(request) else "fulfillment/whatif.html", context)


@require_POST
@role_required(*WHATIF_APPLIERS)
def line_whatif_apply(request: HttpRequest, line_id: int) -> HttpResponse:
    """Apply the alternative chosen in the panel; refused (unknown, stale): the panel again,
    listed afresh, with the reason."""
    key = request.POST.get("option", "")
    try:
        applied = whatif_apply(
            viewer=request.user, line_id=line_id, key=key, actor=Actor.for_user(request.user).label
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        context = _whatif_context(request, line_id, error=exc.message)
        template = PANEL if is_htmx(request) else "fulfillment/whatif.html"
        return page(request, template, context, status=exc.status_code)
    done = (
        f"Applied: {applied.option.label} (extra cost {applied.option.extra_cost} {applied.option.currency})."
    )
    if is_htmx(request):
        return page(request, PANEL, _whatif_context(request, line_id, done=done))
    messages.success(request, done)
    return redirect("orders:detail", number=whatif_line(viewer=request.user, line_id=line_id).order_number)


@require_GET
@role_required(*ORDER_READERS)
def order_whatif(request: HttpRequest, number: str) -> HttpResponse:
    """The order page's what-if section (htmx): its open fulfillment lines, each with a button
    that loads its panel."""
    try:
        lines = order_whatif_lines(viewer=request.user, number=number)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return page(request, "fulfillment/partials/order_whatif.html", {"lines": lines, "number": number})
