"""Staff screens for the warehouse: shipments to send, and confirming one (all of it or part,
with tracking) through the same shipment service a warehouse partner's advice uses."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods

from inventory.models import Warehouse
from oms.kernel.exceptions import DomainError, NotFound, ValidationFailed
from oms.kernel.web import SHIPPING_ROLES, error_text, page, paginate, role_required
from orders.actors import Actor

from .forms import ShipmentConfirmForm
from .selectors import OPEN_SHIPMENT_STATUSES, shipment_for_confirmation, shipments_to_confirm
from .services import shipment_confirm


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
