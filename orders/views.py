"""Staff screens for one order: entry (with live price and availability), detail, and the actions
its status allows. Thin: every write is an orders service, the same one the API calls."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog.models import Product
from customers.models import Customer, CustomerStatus
from documents.selectors import documents_related
from inventory.models import Warehouse
from inventory.selectors import availability, channel_warehouse_ids
from oms.kernel.accesslog import access_record
from oms.kernel.exceptions import DomainError, InFlight, NotFound, StaleRevision
from oms.kernel.roles import Role
from oms.kernel.web import (
    ORDER_READERS,
    ORDER_WRITERS,
    error_text,
    has_any_role,
    page,
    role_required,
    roles_of,
)
from partners.models import Channel, ChannelType

from .actors import Actor
from .forms import (
    ADJUSTMENT_KINDS,
    ENTRY_HEADER_WORDS,
    ENTRY_LINE_WORDS,
    EntryMessages,
    HoldApplyForm,
    OrderHeaderForm,
    OrderLineForm,
    ReasonForm,
    adjustment_reason_choices,
    line_forms,
    line_indexes,
)
from .inputs import CustomerInput, OrderInput
from .models import EventKind, HoldCode, OrderEvent, SalesOrder
from .selectors import order_get, orders_visible_to
from .services import (
    hold_apply,
    hold_release,
    order_approve,
    order_cancel,
    order_reject,
)
from .services.entry import order_submit_once
from .services.preview import Preview, customer_defaults, order_preview
from .services.revisions import lines_diff
from .services.staff_revision import order_revise_once, revision_review
from .states import ORDER_TRANSITIONS, OrderStatus
from .timeline import describe
from .traces import order_price_trace

SEARCH_LIMIT = 10


# --- detail ----------------------------------------------------------------------------------------


def _order_or_404(request: HttpRequest, number: str, revision: int | None = None) -> SalesOrder:
    try:
        return order_get(viewer=request.user, number=number, revision=revision)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@require_GET
@role_required(*ORDER_READERS)
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    revision = request.GET.get("revision")
    order = _order_or_404(request, number, int(revision) if revision and revision.isdigit() else None)
    access_record(request=request, kind="order", object_ref=order.number)
    return page(request, "orders/detail.html", _detail_context(request, order))


# Who may release a hold from the order page (the hold code's own roles narrow it further).
HOLD_RELEASERS = (Role.ORDER_DESK, Role.FINANCE, Role.APPROVER)


def _permits(request: HttpRequest, roles: list[str]) -> bool:
    """A hold code's apply/release roles against the user's roles (read once per request; an
    admin holds every role). Only decides what is offered: the hold service has the last word."""
    mine = roles_of(request)
    return any(r in mine for r in roles)


def _detail_context(request: HttpRequest, order: SalesOrder, failed: dict | None = None) -> dict[str, Any]:
    """The order page. `failed` is an action form the service or the form refused: it is shown
    open again with what was typed and its errors on their fields."""
    lines = list(order.lines.all())
    holds = list(order.holds.all())
    events = list(
        OrderEvent.objects.filter(order__number=order.number)
        .select_related("line", "order")
        .order_by("created_at", "id")
    )
    for event in events:
        described = describe(event.kind, before=event.before, after=event.after, data=event.data)
        event.sentence, event.change_text = described.sentence, described.change
    revisions = list(
        orders_visible_to(request.user)
        .filter(number=order.number)
        .order_by("revision")
        .only("id", "number", "revision", "is_current", "status", "total", "currency", "created_at")
    )
    diff = None
    previous = next((r for r in reversed(revisions) if r.revision < order.revision), None)
    if previous is not None:
        diff = lines_diff(previous, lines)
    allowed = ORDER_TRANSITIONS.get(order.status, frozenset())
    can_write = has_any_role(request, ORDER_WRITERS) and order.is_current
    is_approver = has_any_role(request, (Role.APPROVER,)) and order.is_current
    active_holds = [h for h in holds if h.released_at is None]
    may_release = order.is_current and has_any_role(request, HOLD_RELEASERS)
    for hold in active_holds:
        hold.can_release = may_release and _permits(request, hold.hold_code.release_roles)
    hold_codes = (
        [
            hc
            for hc in HoldCode.objects.filter(active=True, is_system=False).order_by("code")
            if _permits(request, hc.apply_roles)
        ]
        if can_write
        else []
    )
    releasable = [h for h in active_holds if h.can_release]
    can_cancel = can_write and OrderStatus.CANCELED in allowed
    can_decide = is_approver and order.status == OrderStatus.PENDING_APPROVAL
    if failed:
        # A refused form that this person is no longer offered (the hold was released meanwhile,
        # or they may not release it) still says why, with what they typed.
        shown = {
            "apply": bool(hold_codes),
            "cancel": can_cancel,
            "release": any(h.pk == failed.get("hold_id") for h in releasable),
            "approve": can_decide,
            "reject": can_decide,
        }
        failed["orphan"] = not shown.get(failed["kind"], False)
    return {
        "order": order,
        "lines": lines,
        "active_holds": active_holds,
        "releasable_holds": releasable,
        "released_holds": [h for h in holds if h.released_at is not None],
        "events": events,
        "revisions": revisions,
        "diff": diff,
        "hold_codes": hold_codes,
        "can_cancel": can_cancel,
        "can_hold": bool(hold_codes),
        "can_decide": can_decide,
        "approval_events": [e for e in events if e.kind in _APPROVAL_KINDS],
        "failed": failed or {},
        # What this revision cost downstream when it was accepted (the cost-of-change rules).
        "change_cost": next(
            (
                e.data["change_cost"]
                for e in events
                if e.order_id == order.pk and e.kind == EventKind.REVISED and "change_cost" in (e.data or {})
            ),
            None,
        ),
        "can_revise": order.is_current and order.status in EDITABLE and has_any_role(request, ORDER_WRITERS),
        "documents": documents_related(f"order:{order.number}"),
    }


_APPROVAL_KINDS = {EventKind.APPROVAL_REQUESTED, EventKind.APPROVED, EventKind.REJECTED}


@require_GET
@role_required(*ORDER_READERS)
def line_trace(request: HttpRequest, number: str, line_id: int) -> HttpResponse:
    """The pricing engine's trace for one line, with the charges of the same run: the whole order
    re-priced for its date (on demand: it costs an engine run, so it is not part of the detail
    page)."""
    order = _order_or_404(request, number)
    if not any(ln.pk == line_id for ln in order.lines.all()):
        raise Http404("No such line.")
    line_trace_, error = None, ""
    try:
        _, traces = order_price_trace(order)
        line_trace_ = next(t for t in traces if t.line_id == line_id)
    except DomainError as exc:
        error = error_text(exc)
    return page(
        request,
        "orders/partials/trace.html",
        {"trace": line_trace_, "error": error, "currency": order.currency},
    )


# --- actions (optimistic locking) ------------------------------------------------------------------


def _guarded(order: SalesOrder, version: int, action: Callable[[], Any]) -> Any:
    """Run a service only if the order is still at the version the person saw, and move the
    version on: of two people acting on the same screen, the second is refused, never silently
    applied over the first. The service runs inside this transaction (it nests)."""
    with transaction.atomic():
        current = (
            SalesOrder.objects.select_for_update(of=("self",))
            .filter(pk=order.pk)
            .values_list("version", flat=True)
            .first()
        )
        if current != version:
            raise StaleRevision(
                f"Order {order.number} was changed by someone else after you opened it. "
                "Nothing was saved: reload the page to see the change, then try again."
            )
        result = action()
        SalesOrder.objects.filter(pk=order.pk, version=version).update(version=version + 1)
    return result


def _act(
    request: HttpRequest,
    number: str,
    form_class,
    run: Callable[[SalesOrder, Any, Actor], Any],
    done: str,
    *,
    kind: str,
    hold_id: int | None = None,
):
    """Run one action form. Done: back to the order with a message. Refused (the form, the
    version check or the service): the order page again, that form open with what was typed and
    the problem on its field, in words."""
    order = _order_or_404(request, number)
    form = form_class(request.POST)
    errors: dict[str, list[str]] = {}
    status = 400
    if form.is_valid():
        actor = Actor.for_user(request.user)
        try:
            _guarded(order, form.cleaned_data["version"], lambda: run(order, form.cleaned_data, actor))
        except DomainError as exc:
            status = exc.status_code
            fields = exc.fields or {}
            # One field at fault: the service's sentence says it best ("A release needs a reason.").
            errors = {
                f: [exc.message] if len(fields) == 1 else [str(p) for p in ps] for f, ps in fields.items()
            }
            if not errors or set(errors) - {"reason", "code"}:
                errors.setdefault("__all__", []).append(exc.message)
        else:
            messages.success(request, done)
            return redirect("orders:detail", number=number)
    else:
        errors = {f: list(ps) for f, ps in form.errors.items()}
    if "version" in errors:  # a hidden field: say it in words
        errors.pop("version")
        errors.setdefault("__all__", []).append("This form is out of date: reload the page and try again.")
    failed = {
        "kind": kind,
        "hold_id": hold_id,
        "reason": request.POST.get("reason", ""),
        "code": request.POST.get("code", ""),
        "errors": errors,
        "reason_errors": errors.get("reason", []),
        "code_errors": errors.get("code", []),
        "form_errors": errors.get("__all__", []),
    }
    order = _order_or_404(request, number)  # as it is now, with its lines and holds
    return page(request, "orders/detail.html", _detail_context(request, order, failed), status=status)


@require_POST
@role_required(*ORDER_WRITERS)
def order_cancel_view(request: HttpRequest, number: str) -> HttpResponse:
    return _act(
        request,
        number,
        ReasonForm,
        lambda o, d, a: order_cancel(order_id=o.pk, actor=a, reason=d["reason"]),
        "The order was canceled.",
        kind="cancel",
    )


@require_POST
@role_required(*ORDER_WRITERS)
def hold_apply_view(request: HttpRequest, number: str) -> HttpResponse:
    return _act(
        request,
        number,
        HoldApplyForm,
        lambda o, d, a: hold_apply(order_id=o.pk, actor=a, code=d["code"], reason=d["reason"]),
        "Hold applied.",
        kind="apply",
    )


@require_POST
@role_required(*HOLD_RELEASERS)
def hold_release_view(request: HttpRequest, number: str, hold_id: int) -> HttpResponse:
    order = _order_or_404(request, number)
    if not order.holds.filter(pk=hold_id).exists():
        raise Http404("No such hold on this order.")
    return _act(
        request,
        number,
        ReasonForm,
        lambda o, d, a: hold_release(hold_id=hold_id, actor=a, reason=d["reason"]),
        "Hold released.",
        kind="release",
        hold_id=hold_id,
    )


@require_POST
@role_required(Role.APPROVER)
def order_approve_view(request: HttpRequest, number: str) -> HttpResponse:
    return _act(
        request,
        number,
        ReasonForm,
        lambda o, d, a: order_approve(order_id=o.pk, actor=a, reason=d["reason"]),
        "The order was approved.",
        kind="approve",
    )


@require_POST
@role_required(Role.APPROVER)
def order_reject_view(request: HttpRequest, number: str) -> HttpResponse:
    return _act(
        request,
        number,
        ReasonForm,
        lambda o, d, a: order_reject(order_id=o.pk, actor=a, reason=d["reason"]),
        "The order was rejected.",
        kind="reject",
    )


# --- entry -----------------------------------------------------------------------------------------


def _default_channel() -> Channel | None:
    channels = Channel.objects.filter(active=True)
    return (
        channels.filter(type=ChannelType.CALL_CENTER).order_by("pk").first()
        or channels.order_by("pk").first()
    )


@dataclass
class _Entry:
    """The entry form as posted: its forms, the order input capture would get (the rows that are
    valid so far) and the messages for each input."""

    header: OrderHeaderForm
    channel: Channel | None
    rows: list[int]  # every row on screen, in order
    filled: list[int]  # rows with a product
    lines: list[OrderLineForm]  # one per filled row
    line_rows: list[int]  # the row of each line given to capture
    data: OrderInput | None
    messages: EntryMessages
    warnings: EntryMessages

    def row_context(self) -> list[tuple]:
        forms_by_row = dict(zip(self.filled, self.lines, strict=True))
        rows = [
            (i, forms_by_row.get(i), self.messages.lines.get(i, {}), self.warnings.lines.get(i, {}))
            for i in self.rows
        ]
        return rows or [(0, None, {}, {})]


def _entry_read(data) -> _Entry:
    header = OrderHeaderForm(data)
    header.is_valid()
    channel = header.cleaned_data.get("channel") or (
        Channel.objects.filter(code=data.get("channel") or "", active=True).first() or _default_channel()
    )
    rows, filled = line_indexes(data), line_indexes_filled(data)
    lines = line_forms(data)
    messages_, warnings = EntryMessages(rows), EntryMessages(rows)
    inputs, line_rows = [], []
    for n, (row, form) in enumerate(zip(filled, lines, strict=True), start=1):
        if form.is_valid():
            inputs.append(form.as_input(str(n)))
            line_rows.append(row)
        else:
            messages_.add_form(form, row)
    order = None
    if inputs:
        d = header.cleaned_data
        order = OrderInput(
            source_order_id=d.get("source_order_id") or "preview",
            customer=CustomerInput(account_number=(data.get("customer") or "").strip().upper()),
            lines=tuple(inputs),
            customer_po=d.get("customer_po", ""),
            ship_to=header.ship_to(),
            requested_delivery_date=d.get("requested_delivery_date"),
            ship_method=d.get("ship_method", ""),
            notes=d.get("notes", ""),
        )
    return _Entry(header, channel, rows, filled, lines, line_rows, order, messages_, warnings)


def _entry_page(request: HttpRequest, entry: _Entry | None, *, status: int = 200, **extra) -> HttpResponse:
    if entry is None:  # a fresh form
        channel = _default_channel()
        header = OrderHeaderForm(
            initial={
                "source_order_id": f"UI-{uuid.uuid4().hex[:12].upper()}",
                "idempotency_key": uuid.uuid4().hex,
                "channel": channel.code if channel else None,
                "customer": request.GET.get("customer", ""),
            }
        )
        rows, header_errors, header_warnings = [(0, None, {}, {})], {}, {}
    else:
        header, rows = entry.header, entry.row_context()
        header_errors, header_warnings = entry.messages.header, entry.warnings.header
    return page(
        request,
        "orders/entry.html",
        {
            "header": header,
            "rows": rows,
            "header_errors": header_errors,
            "header_warnings": header_warnings,
            "adjustment_kinds": ADJUSTMENT_KINDS,
            "reason_choices": adjustment_reason_choices(),
            **extra,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@role_required(*ORDER_WRITERS)
def order_entry(request: HttpRequest) -> HttpResponse:
    drafts = request.session.get(DRAFTS_KEY, {})
    if request.method == "GET" and request.GET.get("draft") in drafts:
        # Unbound forms with the saved values: a half-finished draft shows no errors until submitted.
        data = {k: v[-1] for k, v in drafts[request.GET["draft"]]["data"].items() if v}
        data.setdefault("idempotency_key", uuid.uuid4().hex)
        header = OrderHeaderForm(initial=data)
        indexes = line_indexes_filled(data)
        reasons = adjustment_reason_choices()
        lines = [
            OrderLineForm(
                prefix=f"lines-{i}",
                initial={f: data.get(f"lines-{i}-{f}") for f in OrderLineForm.base_fields},
                reason_choices=reasons,
            )
            for i in indexes
        ]
        rows = [(i, form, {}, {}) for i, form in zip(indexes, lines, strict=True)]
        return page(
            request,
            "orders/entry.html",
            {
                "header": header,
                "rows": rows or [(0, None, {}, {})],
                "adjustment_kinds": ADJUSTMENT_KINDS,
                "reason_choices": reasons,
                "drafts": _draft_list(drafts),
            },
        )
    if request.method == "POST" and "save_draft" in request.POST:
        return _draft_save(request, drafts)
    if request.method == "GET":
        return _entry_page(request, None, drafts=_draft_list(drafts))

    entry = _entry_read(request.POST)
    header = entry.header
    entry.messages.add_form(header)
    if not entry.filled:
        entry.messages.add_header("form", "Add at least one line.")
    if entry.messages or entry.data is None or len(entry.line_rows) != len(entry.filled):
        return _entry_page(request, entry, status=400)
    actor = Actor.for_user(request.user)
    channel = header.cleaned_data["channel"]
    try:
        if not header.cleaned_data.get("confirm_unusual"):
            # Fat fingers: far above the customer's usual asks for a confirmation first.
            preview = order_preview(channel=channel, actor=actor, data=entry.data)
            if preview.needs_confirmation:
                entry.warnings.add_pipeline(preview.unusual, entry.line_rows)
                return _entry_page(request, entry, status=400, confirm_needed=True)
        outcome = order_submit_once(
            channel=channel, actor=actor, data=entry.data, key=header.cleaned_data["idempotency_key"]
        )
    except InFlight:
        entry.messages.add_header(
            "form", "This form is still being submitted. Wait a moment, then open the order list."
        )
        return _entry_page(request, entry, status=409)
    except DomainError as exc:
        entry.messages.add_pipeline(exc.fields or {}, entry.line_rows)
        if not exc.fields:
            entry.messages.add_header("form", exc.message)
        return _entry_page(request, entry, status=400)
    if outcome.replayed:
        messages.info(request, f"Order {outcome.number} was already submitted from this form.")
        return redirect("orders:detail", number=outcome.number)
    if drafts.pop(header.cleaned_data["source_order_id"], None) is not None:
        request.session[DRAFTS_KEY] = drafts
    note = " It is waiting for approval." if outcome.status == OrderStatus.PENDING_APPROVAL else ""
    messages.success(request, f"Order {outcome.number} was submitted.{note}")
    return redirect("orders:detail", number=outcome.number)


# Unsubmitted entry forms are kept per person, in their (database-backed) session: the submission
# pipeline has no draft state, so a draft is only the form, priced and checked when submitted.
DRAFTS_KEY = "order_entry_drafts"
MAX_DRAFTS = 20


def _draft_list(drafts: dict) -> list[dict]:
    return sorted(
        ({"id": key, **{k: v for k, v in d.items() if k != "data"}} for key, d in drafts.items()),
        key=lambda d: d["saved_at"],
        reverse=True,
    )


def _draft_save(request: HttpRequest, drafts: dict) -> HttpResponse:
    source = (request.POST.get("source_order_id") or "").strip()[:64]
    if not source:
        messages.error(request, "This form cannot be saved; reload the page.")
        return redirect("orders:entry")
    skip = {"csrfmiddlewaretoken", "save_draft", "idempotency_key", "confirm_unusual"}
    data = {k: v for k, v in request.POST.lists() if k not in skip}
    drafts[source] = {
        "saved_at": timezone.now().isoformat(timespec="seconds"),
        "customer": (request.POST.get("customer") or "").strip().upper(),
        "lines": len(line_indexes_filled(request.POST)),
        "data": data,
    }
    if len(drafts) > MAX_DRAFTS:  # keep the newest
        for old in sorted(drafts, key=lambda k: drafts[k]["saved_at"])[: len(drafts) - MAX_DRAFTS]:
            drafts.pop(old)
    request.session[DRAFTS_KEY] = drafts
    messages.success(request, "Draft saved. It stays in your drafts until you submit it.")
    return redirect(f"{reverse('orders:entry')}?draft={source}")


@require_POST
@role_required(*ORDER_WRITERS)
def draft_delete(request: HttpRequest, source: str) -> HttpResponse:
    drafts = request.session.get(DRAFTS_KEY, {})
    if drafts.pop(source, None) is not None:
        request.session[DRAFTS_KEY] = drafts
        messages.success(request, "Draft deleted.")
    return redirect("orders:entry")


def line_indexes_filled(data) -> list[int]:
    return [i for i in line_indexes(data) if (data.get(f"lines-{i}-sku") or "").strip()]


@require_GET
@role_required(*ORDER_WRITERS)
def entry_line(request: HttpRequest) -> HttpResponse:
    """One more empty line row (htmx)."""
    try:
        index = int(request.GET.get("i", "0"))
    except ValueError:
        index = 0
    return page(
        request,
        "orders/partials/entry_line.html",
        {
            "i": index,
            "form": None,
            "errors": {},
            "warnings": {},
            "adjustment_kinds": ADJUSTMENT_KINDS,
            "reason_choices": adjustment_reason_choices(),
        },
    )


@require_GET
@role_required(*ORDER_WRITERS)
def customer_search(request: HttpRequest) -> HttpResponse:
    q = (request.GET.get("customer") or request.GET.get("q") or "").strip()
    rows = []
    if len(q) >= 2:
        rows = list(
            Customer.objects.filter(status=CustomerStatus.ACTIVE)
            .exclude(account_number__isnull=True)
            .exclude(account_number="")
            .filter(Q(account_number__istartswith=q) | Q(name__icontains=q))
            .order_by("name")[:SEARCH_LIMIT]
        )
    return page(request, "orders/partials/customer_results.html", {"rows": rows, "q": q})


@require_GET
@role_required(*ORDER_WRITERS)
def customer_card(request: HttpRequest) -> HttpResponse:
    """The picked customer's terms, and the ship-to, bill-to and pricing currency the order will
    get: capture's own defaulting (an address typed below overrides the ship-to site). An unknown
    account is said on the customer field itself, by the quote (once)."""
    account = (request.GET.get("customer") or "").strip().upper()
    header = OrderHeaderForm(request.GET)
    header.is_valid()
    channel = header.cleaned_data.get("channel") or _default_channel()
    defaults = None
    if account and channel is not None:
        try:
            defaults = customer_defaults(
                channel=channel,
                data=OrderInput(
                    source_order_id="card",
                    customer=CustomerInput(account_number=account),
                    lines=(),
                    ship_to=header.ship_to(),
                ),
            )
        except DomainError:
            defaults = None
    return page(request, "orders/partials/customer_card.html", {"defaults": defaults, "channel": channel})


@require_GET
@role_required(*ORDER_WRITERS)
def product_search(request: HttpRequest) -> HttpResponse:
    field = request.GET.get("field", "")
    q = (request.GET.get(field) or request.GET.get("q") or "").strip()
    rows = []
    if len(q) >= 2:
        # SKU prefix first (what people type), then names containing the words.
        rows = list(
            Product.objects.filter(active=True)
            .filter(Q(sku__istartswith=q) | Q(name__icontains=q))
            .order_by("sku")[:SEARCH_LIMIT]
        )
        rows.sort(key=lambda p: (not p.sku.upper().startswith(q.upper()), p.sku))
    return page(request, "orders/partials/product_results.html", {"rows": rows, "field": field})


@require_http_methods(["GET", "POST"])
@role_required(*ORDER_WRITERS)
def entry_quote(request: HttpRequest) -> HttpResponse:
    """What the order will be if it is submitted now (htmx): capture's own stages run dry --
    defaults, pricing with the manual adjustments, credit, compliance and approval rules -- so the
    total is the one the order will be saved at, and the approval or hold it will hit is said
    before submitting. Messages go onto their fields (out-of-band). Nothing is written."""
    data = request.POST if request.method == "POST" else request.GET
    entry = _entry_read(data)
    preview, error = None, ""
    if entry.channel is None:
        error = "No active channel."
    elif entry.data is not None and entry.data.customer.account_number:
        try:
            preview = order_preview(
                channel=entry.channel, actor=Actor.for_user(request.user), data=entry.data
            )
        except DomainError as exc:
            entry.messages.add_pipeline(exc.fields or {}, entry.line_rows)
            if not exc.fields:
                error = exc.message
        else:
            entry.warnings.add_pipeline(preview.unusual, entry.line_rows)
    return page(
        request,
        "orders/partials/quote.html",
        {
            "preview": preview,
            "error": error,
            "needs_customer": entry.data is not None and not entry.data.customer.account_number,
            "show_confirm": bool(entry.warnings),
            "discount_total": preview.priced.totals.line_discount + preview.priced.totals.order_discount
            if preview
            else None,
            "confirmed": bool(entry.header.cleaned_data.get("confirm_unusual")),
            "quote_lines": _quote_lines(preview, entry) if preview else [],
            "header_slots": [
                (name, entry.messages.header.get(name, []), entry.warnings.header.get(name, []))
                for name in ENTRY_HEADER_WORDS
            ],
            "line_slots": [
                (
                    f"lines-{row}-{name}",
                    entry.messages.lines.get(row, {}).get(name, []),
                    entry.warnings.lines.get(row, {}).get(name, []),
                )
                for row in entry.rows
                for name in ENTRY_LINE_WORDS
            ],
        },
    )


def _quote_lines(preview: Preview, entry: _Entry) -> list[dict]:
    """The priced lines with their row and the availability per warehouse (what the quote showed
    before: the same selectors the storefront quote reads)."""
    warehouse_ids = channel_warehouse_ids(channel_id=entry.channel.pk)
    codes = dict(Warehouse.objects.filter(pk__in=warehouse_ids).values_list("pk", "code"))
    skus = [lp.sku for lp in preview.priced.lines]
    today = timezone.localdate()
    demand_class = preview.defaults.customer.demand_class
    per_warehouse = {
        wid: availability(skus=skus, warehouse_id=wid, demand_class=demand_class, today=today)
        for wid in warehouse_ids
    }
    out = []
    for lp, row in zip(preview.priced.lines, entry.line_rows, strict=True):
        stock = [
            {
                "warehouse": codes.get(wid, str(wid)),
                "available_now": per_warehouse[wid][lp.sku].available_by(today),
                "earliest_date": per_warehouse[wid][lp.sku].earliest_date(lp.quantity),
            }
            for wid in warehouse_ids
        ]
        out.append(
            {
                "row": row,
                "price": lp,
                "availability": stock,
                "notices": preview.line_notices.get(lp.index, []),
            }
        )
    return out


def order_url(number: str) -> str:
    return reverse("orders:detail", kwargs={"number": number})


# --- staff edit: a revision with its cost of change -------------------------------------------


EDITABLE = (OrderStatus.OPEN, OrderStatus.PARTIALLY_SHIPPED)


def _revise_quantities(request: HttpRequest, order: SalesOrder) -> tuple[dict[str, Decimal], dict[str, str]]:
    """The quantities typed for each line (by source line id) and the problems, per line."""
    quantities, errors = {}, {}
    for line in order.lines.all():
        raw = (request.POST.get(f"qty-{line.line_number}") or "").strip()
        try:
            value = Decimal(raw)
        except (InvalidOperation, ValueError):
            errors[line.source_line_id] = "Enter a number (0 removes the line)."
            continue
        if not value.is_finite() or value < 0:
            errors[line.source_line_id] = "Enter 0 or more (0 removes the line)."
        elif value < (floor := max(line.shipped_quantity, line.billed_quantity)):
            errors[line.source_line_id] = f"At least {floor.normalize():f}: that much has shipped."
        else:
            quantities[line.source_line_id] = value
    return quantities, errors


@require_http_methods(["GET", "POST"])
@role_required(*ORDER_WRITERS)
def order_revise(request: HttpRequest, number: str) -> HttpResponse:
    """Change the quantities of an open order: review what the change costs (and whether it will
    wait for approval), then confirm it as the order's next revision."""
    order = _order_or_404(request, number)
    lines = list(order.lines.all())
    context: dict[str, Any] = {"order": order, "editable": order.status in EDITABLE}
    if not context["editable"]:
        return page(
            request, "orders/revise.html", context | {"rows": [(ln, ln.quantity, "") for ln in lines]}
        )
    if request.method == "GET":
        context |= {
            "rows": [(ln, ln.quantity, "") for ln in lines],
            "revision": order.revision,
            "key": uuid.uuid4().hex,
        }
        return page(request, "orders/revise.html", context)
    quantities, errors = _revise_quantities(request, order)
    revision = int(request.POST.get("revision") or 0) if (request.POST.get("revision") or "").isdigit() else 0
    key = request.POST.get("key") or uuid.uuid4().hex
    typed = {ln.source_line_id: request.POST.get(f"qty-{ln.line_number}", "") for ln in lines}
    context |= {
        "rows": [(ln, typed[ln.source_line_id], errors.get(ln.source_line_id, "")) for ln in lines],
        "revision": revision,
        "key": key,
    }
    if not errors and all(q == ln.quantity for ln in lines for q in [quantities[ln.source_line_id]]):
        context["form_errors"] = ["Nothing changed: change a quantity first."]
    if errors or context.get("form_errors"):
        return page(request, "orders/revise.html", context, status=400)
    actor = Actor.for_user(request.user)
    try:
        if "confirm" not in request.POST:
            context["review"] = revision_review(
                order=order, actor=actor, quantities=quantities, revision=revision
            )
            return page(request, "orders/revise.html", context)
        outcome = order_revise_once(
            order=order, actor=actor, quantities=quantities, revision=revision, key=key
        )
    except DomainError as exc:
        context["form_errors"] = [exc.message, *(str(p) for ps in (exc.fields or {}).values() for p in ps)]
        context["refused_cost"] = exc.context.get("change_cost")
        return page(request, "orders/revise.html", context, status=exc.status_code)
    note = " It waits for approval." if outcome.status == OrderStatus.PENDING_APPROVAL else ""
    messages.success(request, f"Order {outcome.number} was changed.{note}")
    return redirect("orders:detail", number=outcome.number)
