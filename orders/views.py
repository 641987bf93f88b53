"""Staff screens for one order: entry (with live price and availability), detail, and the actions
its status allows. Thin: every write is an orders service, the same one the API calls."""

from __future__ import annotations

import uuid
from collections.abc import Callable
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
from oms.kernel.exceptions import DomainError, NotFound, StaleRevision
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
from pricing.engine import LineRequest, PriceRequest, ShipTo
from pricing.services import price_quote

from .actors import Actor
from .forms import (
    ADJUSTMENT_KINDS,
    HoldApplyForm,
    OrderHeaderForm,
    OrderLineForm,
    ReasonForm,
    line_forms,
    line_indexes,
    order_input,
)
from .models import EventKind, HoldCode, OrderEvent, SalesOrder
from .quotes import quote_build
from .selectors import order_get, orders_visible_to
from .services import (
    hold_apply,
    hold_release,
    order_approve,
    order_cancel,
    order_reject,
    order_submit,
)
from .services.revisions import lines_diff
from .states import ORDER_TRANSITIONS, OrderStatus

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
        event.change_text = _change_text(event.before, event.after)
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
    }


def _facts(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(
            f"{k.replace('_', ' ')} {v}" for k, v in value.items() if v not in (None, "", [], {})
        )
    return "" if value in (None, "", [], {}) else str(value)


def _change_text(before: Any, after: Any) -> str:
    """An event's before/after as one readable line ("status pending_approval → status open")."""
    left, right = _facts(before), _facts(after)
    return f"{left} → {right}" if left and right else left or right


_APPROVAL_KINDS = {EventKind.APPROVAL_REQUESTED, EventKind.APPROVED, EventKind.REJECTED}


@require_GET
@role_required(*ORDER_READERS)
def line_trace(request: HttpRequest, number: str, line_id: int) -> HttpResponse:
    """The pricing engine's trace for one line, re-run for the order's date (on demand: it costs
    an engine run, so it is not part of the detail page)."""
    order = _order_or_404(request, number)
    line = next((ln for ln in order.lines.all() if ln.pk == line_id), None)
    if line is None:
        raise Http404("No such line.")
    ship = order.ship_to or {}
    try:
        result = price_quote(
            PriceRequest(
                currency=order.currency,
                lines=(LineRequest(sku=line.product.sku, quantity=line.quantity, uom=line.uom),),
                customer_account=order.customer.account_number or None,
                channel_code=order.channel.code,
                pricing_date=order.created_at.date(),
                ship_to=ShipTo(ship.get("country", ""), ship.get("region", ""), ship.get("postcode", ""))
                if ship
                else None,
            ),
            explain=True,
        )
        trace, error = list(result.trace or ()), ""
    except DomainError as exc:
        trace, error = [], error_text(exc)
    return page(request, "orders/partials/trace.html", {"trace": trace, "error": error, "line": line})


# --- actions (optimistic locking) ------------------------------------------------------------------


def _guarded(order: SalesOrder, version: int, action: Callable[[], Any]) -> Any:
    """Run a service only if the order is still at the version the person saw, and move the
    version on: of two people acting on the same screen, the second is refused, never silently
    applied over the first. The service runs inside this transaction (it nests)."""
    with transaction.atomic():
        current = (
            SalesOrder.objects.select_for_update()
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


def _field_errors(
    exc: DomainError, line_count: int
) -> tuple[dict[str, list[str]], list[dict[str, list[str]]]]:
    """The pipeline's field paths ("customer.account_number", "lines[1].sku", "ship_to.city")
    onto the header form and the line rows."""
    header: dict[str, list[str]] = {}
    lines: list[dict[str, list[str]]] = [{} for _ in range(line_count)]
    for path, problems in (exc.fields or {}).items():
        text = [str(p) for p in problems]
        if path.startswith("lines[") and "]" in path:
            index = path[6 : path.index("]")]
            field = path[path.index("]") + 2 :] or "sku"
            if index.isdigit() and int(index) < line_count:
                lines[int(index)].setdefault(field.split(".")[0], []).extend(text)
                continue
        if path.startswith("ship_to."):
            header.setdefault("ship_" + path.split(".", 1)[1], []).extend(text)
        elif path.startswith("customer"):
            header.setdefault("customer", []).extend(text)
        else:
            header.setdefault(path.split(".")[0].split("[")[0], []).extend(text)
    return header, lines


@require_http_methods(["GET", "POST"])
@role_required(*ORDER_WRITERS)
def order_entry(request: HttpRequest) -> HttpResponse:
    drafts = request.session.get(DRAFTS_KEY, {})
    if request.method == "GET" and request.GET.get("draft") in drafts:
        # Unbound forms with the saved values: a half-finished draft shows no errors until submitted.
        data = {k: v[-1] for k, v in drafts[request.GET["draft"]]["data"].items() if v}
        header = OrderHeaderForm(initial=data)
        indexes = line_indexes_filled(data)
        lines = [
            OrderLineForm(
                prefix=f"lines-{i}",
                initial={f: data.get(f"lines-{i}-{f}") for f in OrderLineForm.base_fields},
            )
            for i in indexes
        ]
        rows = list(zip(indexes, lines, [{} for _ in lines], strict=True))
        return page(
            request,
            "orders/entry.html",
            {
                "header": header,
                "rows": rows or [(0, None, {})],
                "adjustment_kinds": ADJUSTMENT_KINDS,
                "drafts": _draft_list(drafts),
            },
        )
    if request.method == "POST" and "save_draft" in request.POST:
        return _draft_save(request, drafts)
    if request.method == "GET":
        channel = _default_channel()
        header = OrderHeaderForm(
            initial={
                "source_order_id": f"UI-{uuid.uuid4().hex[:12].upper()}",
                "channel": channel.code if channel else None,
                "customer": request.GET.get("customer", ""),
            }
        )
        return page(
            request,
            "orders/entry.html",
            {
                "header": header,
                "rows": [(0, None, {})],
                "adjustment_kinds": ADJUSTMENT_KINDS,
                "drafts": _draft_list(drafts),
            },
        )

    header = OrderHeaderForm(request.POST)
    lines = line_forms(request.POST)
    rows = list(zip(line_indexes_filled(request.POST), lines, [{} for _ in lines], strict=True))
    header_errors: dict[str, list[str]] = {}
    # Validate every row (not only up to the first bad one) so each shows its own errors.
    lines_ok = [form.is_valid() for form in lines]
    valid = header.is_valid() and all(lines_ok)
    if not lines:
        header_errors["lines"] = ["Add at least one line."]
        valid = False
    if valid:
        channel = header.cleaned_data["channel"]
        try:
            result = order_submit(
                channel=channel, actor=Actor.for_user(request.user), data=order_input(header, lines)
            )
        except StaleRevision:
            # The same form posted twice (a double click, a retry): the first one made the order.
            existing = SalesOrder.objects.filter(
                channel=channel, source_order_id=header.cleaned_data["source_order_id"], is_current=True
            ).first()
            if existing is not None:
                messages.info(request, f"Order {existing.number} was already submitted from this form.")
                return redirect("orders:detail", number=existing.number)
            raise
        except DomainError as exc:
            valid = False
            header_errors, line_errors = _field_errors(exc, len(lines))
            rows = [(i, form, line_errors[n]) for n, (i, form, _) in enumerate(rows)]
            messages.error(request, exc.message)
        else:
            order = result.order
            if drafts.pop(header.cleaned_data["source_order_id"], None) is not None:
                request.session[DRAFTS_KEY] = drafts
            note = {
                OrderStatus.PENDING_APPROVAL: " It is waiting for approval.",
            }.get(order.status, "")
            messages.success(request, f"Order {order.number} was submitted.{note}")
            return redirect("orders:detail", number=order.number)
    status = 400  # only a refused form is shown again
    return page(
        request,
        "orders/entry.html",
        {
            "header": header,
            "rows": rows or [(0, None, {})],
            "header_errors": header_errors,
            "adjustment_kinds": ADJUSTMENT_KINDS,
        },
        status=status,
    )


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
    data = {k: v for k, v in request.POST.lists() if k not in {"csrfmiddlewaretoken", "save_draft"}}
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
        {"i": index, "form": None, "errors": {}, "adjustment_kinds": ADJUSTMENT_KINDS},
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
    """The picked customer's defaults (terms, currency, primary ship-to), shown as the pipeline
    will apply them unless overridden."""
    account = (request.GET.get("customer") or "").strip().upper()
    customer = (
        Customer.objects.filter(account_number=account).prefetch_related("sites").first() if account else None
    )
    site = None
    if customer is not None:
        sites = [s for s in customer.sites.all() if s.active]
        site = next((s for s in sites if s.is_primary), sites[0] if sites else None)
    return page(
        request, "orders/partials/customer_card.html", {"customer": customer, "site": site, "q": account}
    )


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
    """Live price breakdown and availability per warehouse for what is on the form (htmx). Reads
    only: the same quote the storefront gets; nothing is reserved."""
    data = request.POST if request.method == "POST" else request.GET
    channel = (
        Channel.objects.filter(code=data.get("channel") or "", active=True).first() or _default_channel()
    )
    lines, skipped = [], []
    for i in line_indexes_filled(data):
        sku = data.get(f"lines-{i}-sku", "").strip().upper()
        try:
            qty = Decimal(data.get(f"lines-{i}-quantity") or "1")
            if qty <= 0:
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            skipped.append(sku)
            continue
        lines.append({"sku": sku, "quantity": qty})
    quote, error = None, ""
    if channel is None:
        error = "No active channel."
    elif lines:
        ship = {}
        if data.get("ship_country"):
            ship = {
                "country": data.get("ship_country", "").upper(),
                "region": data.get("ship_region", ""),
                "postcode": data.get("ship_postcode", ""),
            }
        try:
            quote = quote_build(
                channel=channel,
                data={
                    "customer": {"account_number": data.get("customer", "")},
                    "lines": lines,
                    "ship_to": ship or None,
                    "ship_method": data.get("ship_method") or None,
                },
            )
        except DomainError as exc:
            error = error_text(exc)
    return page(request, "orders/partials/quote.html", {"quote": quote, "error": error, "skipped": skipped})


def order_url(number: str) -> str:
    return reverse("orders:detail", kwargs={"number": number})
