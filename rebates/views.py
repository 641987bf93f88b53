"""Staff screens for channel revenue: the checkbook (per program, supplier, customer) with its chart
and drill-down to accruals and the shipment that earned each one, and claims from generation to
settlement (with the claim document as CSV and PDF). Writes go through rebates.services."""

from __future__ import annotations

import json

from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from catalog.models import Supplier
from customers.models import Customer
from fulfillment.models import ShipmentLine
from oms.kernel.accesslog import access_record
from oms.kernel.exceptions import DomainError
from oms.kernel.roles import Role
from oms.kernel.web import REBATE_ROLES, error_text, page, paginate, role_required

from . import documents
from .checkbook import Scope, checkbook, checkbook_series, program_list, series_chart, tier_forecast
from .filters import AccrualFilter, ClaimFilter, ProgramFilter
from .models import Accrual, Claim, ClaimLine, PayoutMethod, RebateEvent, RebateProgram, SourceType
from .services.claims import (
    claim_approve,
    claim_cancel,
    claim_dispute,
    claim_settle,
    claim_submit,
    claim_write_off,
    claims_generate,
    write_off_threshold,
)
from .states import CLAIM_TRANSITIONS, ClaimStatus, DisputeReason

# Finance runs the checkbook and claims; sales (the order desk) sees what customers earn.
CUSTOMER_REBATE_ROLES = (Role.FINANCE, Role.ORDER_DESK)
PAGE_ROWS = 20


def _params(request: HttpRequest):
    params = request.GET.copy()
    params.pop("page", None)
    return params or None


def _querystring(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _filtered(filter_class, request: HttpRequest, qs):
    filters = filter_class(_params(request), queryset=qs, request=request)
    rows = filters.qs if not filters.is_bound or filters.is_valid() else qs.none()
    status = 400 if filters.is_bound and filters.form.errors else 200
    return filters, rows, status


def _chart(scope: Scope, figures) -> tuple[str, str]:
    currency = figures[0].currency if figures else ""
    if not currency:
        return "", ""
    return json.dumps(series_chart(checkbook_series(scope, currency), currency)), currency


# --- checkbook -------------------------------------------------------------------------------------


@require_GET
@role_required(*REBATE_ROLES)
def checkbook_view(request: HttpRequest) -> HttpResponse:
    qs = RebateProgram.objects.order_by("code", "-version")
    filters, rows, status = _filtered(ProgramFilter, request, qs)
    return page(
        request,
        "rebates/checkbook.html",
        {
            "tab": "checkbook",
            "filters": filters,
            "rows": paginate(request, program_list(rows), per_page=PAGE_ROWS),
            "querystring": _querystring(request),
            "may_generate": True,
        },
        status=status,
    )


checkbook_view.filterset_class = ProgramFilter


def _scope_page(request, *, title: str, subtitle: str, scope: Scope, programs, claims_qs, forecast=None,
                extra=None) -> HttpResponse:  # fmt: skip
    figures = checkbook(scope)
    chart, chart_currency = _chart(scope, figures)
    claims = claims_qs.select_related("program", "supplier", "customer").order_by("-pk")[:PAGE_ROWS]
    accruals = (
        scope.accruals()
        .select_related("program", "product", "customer", "supplier")
        .order_by("-pk")[:PAGE_ROWS]
    )
    return page(
        request,
        "rebates/scope.html",
        {
            "tab": "checkbook",
            "title": title,
            "subtitle": subtitle,
            "figures": figures,
            "chart": chart,
            "chart_currency": chart_currency,
            "programs": programs,
            "claims": claims,
            "accruals": accruals,
            "forecast": forecast,
            **(extra or {}),
        },
    )


@require_GET
@role_required(*REBATE_ROLES)
def program_view(request: HttpRequest, pk: int) -> HttpResponse:
    program = get_object_or_404(
        RebateProgram.objects.select_related("supplier", "customer", "customer_segment").prefetch_related(
            "tiers"
        ),
        pk=pk,
    )
    forecast = tier_forecast(program, today=timezone.localdate()) if program.tiers.all() else None
    return _scope_page(
        request,
        title=f"{program.code} v{program.version}",
        subtitle=f"{program.name} · {program.get_program_type_display()} · {program.get_status_display()}",
        scope=Scope(program_id=program.pk),
        programs=None,
        claims_qs=Claim.objects.filter(program_id=program.pk),
        forecast=forecast,
        extra={"program": program, "accruals_query": f"program={program.code}"},
    )


@require_GET
@role_required(*REBATE_ROLES)
def supplier_view(request: HttpRequest, pk: int) -> HttpResponse:
    supplier = get_object_or_404(Supplier, pk=pk)
    return _scope_page(
        request,
        title=supplier.name,
        subtitle=f"Supplier {supplier.code}: supplier rebates, ship-and-debit and price protection",
        scope=Scope(supplier_id=supplier.pk),
        programs=RebateProgram.objects.filter(supplier_id=supplier.pk).order_by("code", "-version"),
        claims_qs=Claim.objects.filter(supplier_id=supplier.pk),
        extra={"accruals_query": f"supplier={supplier.code}"},
    )


@require_GET
@role_required(*CUSTOMER_REBATE_ROLES)
def customer_view(request: HttpRequest, pk: int) -> HttpResponse:
    from .checkbook import customer_rebate_programs, customer_tier_forecasts

    customer = get_object_or_404(Customer, pk=pk)
    access_record(request=request, kind="customer", object_ref=customer.pk)
    return _scope_page(
        request,
        title=customer.name,
        subtitle=f"Customer {customer.account_number or ''}: volume rebates",
        scope=Scope(customer_id=customer.pk),
        programs=customer_rebate_programs(customer.pk),
        claims_qs=Claim.objects.filter(customer_id=customer.pk),
        extra={
            "forecasts": customer_tier_forecasts(customer.pk, today=timezone.localdate()),
            "accruals_query": f"customer={customer.account_number or ''}",
            "customer": customer,
        },
    )


# --- accruals --------------------------------------------------------------------------------------


@require_GET
@role_required(*REBATE_ROLES)
def accrual_list_view(request: HttpRequest) -> HttpResponse:
    qs = Accrual.objects.select_related("program", "supplier", "customer", "product").order_by("-pk")
    filters, rows, status = _filtered(AccrualFilter, request, qs)
    return page(
        request,
        "rebates/accruals.html",
        {
            "tab": "accruals",
            "filters": filters,
            "rows": paginate(request, rows, per_page=PAGE_ROWS),
            "querystring": _querystring(request),
        },
        status=status,
    )


accrual_list_view.filterset_class = AccrualFilter


def _shipment_of(accrual: Accrual):
    """The shipment line that earned a shipment accrual (and its shipment and order), or None."""
    if accrual.source_type != SourceType.SHIPMENT_LINE or not accrual.source_id.isdigit():
        return None
    return (
        ShipmentLine.objects.select_related(
            "shipment", "shipment__warehouse", "fulfillment_line__order_line__product"
        )
        .filter(pk=int(accrual.source_id))
        .first()
    )


@require_GET
@role_required(*REBATE_ROLES)
def accrual_view(request: HttpRequest, pk: int) -> HttpResponse:
    accrual = get_object_or_404(
        Accrual.objects.select_related("program", "supplier", "customer", "product", "warehouse", "reverses"),
        pk=pk,
    )
    source = accrual.reverses if accrual.reverses_id else accrual
    return page(
        request,
        "rebates/accrual_detail.html",
        {
            "tab": "accruals",
            "a": accrual,
            "shipment_line": _shipment_of(source),
            "claim_lines": ClaimLine.objects.filter(accrual=accrual).select_related("claim").order_by("pk"),
            "basis": json.dumps(accrual.basis, indent=2, sort_keys=True, default=str)
            if accrual.basis
            else "",
        },
    )


# --- claims ----------------------------------------------------------------------------------------


@require_GET
@role_required(*REBATE_ROLES)
def claim_list_view(request: HttpRequest) -> HttpResponse:
    qs = Claim.objects.select_related("program", "supplier", "customer").order_by("-pk")
    filters, rows, status = _filtered(ClaimFilter, request, qs)
    return page(
        request,
        "rebates/claims.html",
        {
            "tab": "claims",
            "filters": filters,
            "rows": paginate(request, rows, per_page=PAGE_ROWS),
            "querystring": _querystring(request),
        },
        status=status,
    )


claim_list_view.filterset_class = ClaimFilter


@require_POST
@role_required(*REBATE_ROLES)
def claims_generate_view(request: HttpRequest) -> HttpResponse:
    program_id = request.POST.get("program")
    try:
        created = claims_generate(
            program_id=int(program_id) if program_id and program_id.isdigit() else None, actor=request.user
        )
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        if created:
            messages.success(
                request, f"Generated {len(created)} claim(s): {', '.join(c.number for c in created)}."
            )
        else:
            messages.info(request, "Nothing left to claim.")
    if program_id and program_id.isdigit():
        return redirect("rebates:program", pk=int(program_id))
    return redirect("rebates:claims")


def _claim(pk: int) -> Claim:
    return get_object_or_404(
        Claim.objects.select_related(
            "program", "supplier", "customer", "parent", "settlement", "settlement__child"
        ).prefetch_related(
            Prefetch(
                "lines",
                queryset=ClaimLine.objects.select_related("accrual", "accrual__product").order_by("pk"),
            )
        ),
        pk=pk,
    )


def _claim_page(request: HttpRequest, claim: Claim, *, form: dict | None = None, errors=None, status=200):
    allowed = CLAIM_TRANSITIONS.get(claim.status, frozenset())
    return page(
        request,
        "rebates/claim_detail.html",
        {
            "tab": "claims",
            "claim": claim,
            "lines": list(claim.lines.all()),
            "children": list(claim.children.order_by("pk")),
            "events": RebateEvent.objects.filter(object_type="claim", object_id=claim.pk).select_related(
                "user"
            ),
            "can_submit": ClaimStatus.SUBMITTED in allowed,
            "can_approve": ClaimStatus.APPROVED in allowed,
            "can_dispute": ClaimStatus.DISPUTED in allowed,
            "can_cancel": ClaimStatus.CANCELED in allowed and not claim.parent_id,
            "can_settle": ClaimStatus.SETTLED in allowed,
            "can_write_off": ClaimStatus.SETTLED in allowed and claim.amount <= write_off_threshold(),
            "threshold": write_off_threshold(),
            "methods": PayoutMethod.choices,
            "reasons": DisputeReason.choices,
            "form": form or {"method": claim.program.payout_method, "amount": claim.amount},
            "errors": errors or {},
        },
        status=status,
    )


@require_GET
@role_required(*REBATE_ROLES)
def claim_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _claim_page(request, _claim(pk))


ACTIONS = ("submit", "approve", "dispute", "cancel", "settle", "write-off")


@require_POST
@role_required(*REBATE_ROLES)
def claim_action_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("No such action.")
    post = request.POST
    version = post.get("version")
    common = {
        "claim_id": pk,
        "actor": request.user,
        "expected_version": int(version) if version and version.isdigit() else None,
    }
    note = post.get("note", "").strip()
    try:
        if action == "submit":
            claim_submit(**common, reference=post.get("reference", "").strip(), note=note)
        elif action == "approve":
            claim_approve(**common, note=note)
        elif action == "dispute":
            claim_dispute(**common, reason=post.get("reason", ""), note=note)
        elif action == "cancel":
            claim_cancel(**common, note=note)
        elif action == "settle":
            settlement = claim_settle(
                **common,
                amount=post.get("amount", "").strip(),
                method=post.get("method", ""),
                reference=post.get("reference", "").strip(),
                note=note,
            )
        else:
            claim_write_off(**common, note=note)
    except DomainError as exc:
        claim = _claim(pk)
        form = {k: post.get(k, "") for k in ("amount", "method", "reference", "note", "reason")}
        form["action"] = action
        messages.error(request, error_text(exc))
        return _claim_page(
            request, claim, form=form, errors=exc.fields or {"general": [exc.message]}, status=exc.status_code
        )
    claim = Claim.objects.get(pk=pk)
    if action == "settle" and settlement.child_id:
        messages.success(
            request,
            f"{claim.number} settled for {settlement.amount} {claim.currency}; "
            f"the rest is claimed on {settlement.child.number}.",
        )
    else:
        messages.success(request, f"{claim.number} is now {claim.get_status_display().lower()}.")
    return redirect("rebates:claim", pk=pk)


@require_GET
@role_required(*REBATE_ROLES)
def claim_document_csv(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _claim(pk)
    access_record(request=request, kind="document", object_ref=claim.number, action="csv")
    return documents.claim_csv(claim)


@require_GET
@role_required(*REBATE_ROLES)
def claim_document_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _claim(pk)
    access_record(request=request, kind="document", object_ref=claim.number, action="pdf")
    return documents.claim_pdf_response(claim, request=request)
