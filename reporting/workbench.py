"""The exception workbench (staff UI): one queue per kind of exception, each filtered and grouped
through its FilterSet (`reporting.filters`), with counts that refresh in place (htmx polling of
`workbench/counts`), a drill-down to an order's timeline, and bulk actions that ask for a
confirmation first and then say what happened to every row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from fulfillment.services import step_retry
from fulfillment.services.jeopardy import alert_assign
from oms.kernel.exceptions import DomainError
from oms.kernel.roles import Role
from oms.kernel.web import (
    ORDER_READERS,
    WORKBENCH_ROLES,
    error_text,
    forbidden,
    has_any_role,
    page,
    paginate,
    role_required,
    roles_of,
)
from orders.actors import Actor
from orders.models import COMPLIANCE_HOLD, CREDIT_HOLD
from orders.services import hold_release, order_approve, order_reject

from . import selectors
from .filters import (
    BackorderQueueFilter,
    FailedStepFilter,
    HoldQueueFilter,
    JeopardyQueueFilter,
    QueueFilter,
    UnscheduledLineFilter,
)
from .timeline import order_timeline

S = selectors.Summary


@dataclass(frozen=True)
class Panel:
    """One queue on the workbench: its rows (`base`, narrowed by `filterset`), template, the
    roles that may see it, its bulk actions and how a row is named in a confirmation or a result."""

    key: str
    title: str
    roles: tuple[Role, ...]
    base: Callable[[], QuerySet]
    template: str
    count_key: str = ""
    actions: tuple[str, ...] = ()
    # The side tables: this queue's own rows summed (by customer, by product, by step...).
    summaries: Callable[[HttpRequest], list[selectors.Summary]] = lambda r: []
    filterset: type[QueueFilter] | None = None
    describe: Callable[[object], str] = field(default=lambda row: f"#{row.pk}")


def _hold_summaries(code: str = "") -> Callable[[HttpRequest], list[selectors.Summary]]:
    def build(request: HttpRequest) -> list[selectors.Summary]:
        picked = code or request.GET.get("code", "")
        out = [
            S(
                "Held orders by customer",
                "Customer",
                "Orders",
                selectors.held_by(field="customer", code=picked),
            )
        ]
        if not code:
            out.append(
                S("Held orders by hold", "Hold", "Orders", selectors.held_by(field="code", code=picked))
            )
        return out

    return build


def _describe_hold(hold) -> str:
    return f"{hold.order.number} · hold {hold.hold_code.code}"


def _describe_step(step) -> str:
    line = step.process.fulfillment_line
    return f"{line.order_number} line {line.source_line_id} · {step.step_definition.name}"


def _unscheduled_summaries(request: HttpRequest) -> list[selectors.Summary]:
    base = selectors.unscheduled_lines()
    customer = ("order__customer__account_number", "order__customer__name")
    return [
        S("Unscheduled by customer", "Customer", "Lines", selectors.queue_groups(base, customer, limit=10)),
        S(
            "Unscheduled by product",
            "SKU",
            "Lines",
            selectors.queue_groups(base, ("product__sku", "product__name"), limit=10),
        ),
    ]


def _holds_panel(key: str, title: str, roles: tuple[Role, ...], code: str = "") -> Panel:
    return Panel(
        key,
        title,
        roles,
        lambda: selectors.active_holds(code=code),
        "reporting/partials/panel_holds.html",
        key,
        ("release",),
        _hold_summaries(code),
        HoldQueueFilter,
        _describe_hold,
    )


def _describe_alert(alert) -> str:
    return (
        f"{alert.order_number} line {alert.fulfillment_line.source_line_id} · "
        f"{alert.get_priority_display()} ({alert.score})"
    )


def _jeopardy_summaries(request: HttpRequest) -> list[selectors.Summary]:
    base = selectors.jeopardy_queue()
    return [
        S(
            "Jeopardy by priority",
            "Priority",
            "Alerts",
            selectors.queue_groups(base, ("priority", "priority")),
        ),
        S(
            "Jeopardy by warehouse",
            "Warehouse",
            "Alerts",
            selectors.queue_groups(
                base, ("fulfillment_line__warehouse__code", "fulfillment_line__warehouse__name")
            ),
        ),
    ]


PANELS: dict[str, Panel] = {
    p.key: p
    for p in (
        Panel(
            "jeopardy",
            "Jeopardy",
            (Role.FULFILLMENT, Role.ORDER_DESK, Role.FINANCE),
            selectors.jeopardy_queue,
            "reporting/partials/panel_jeopardy.html",
            "jeopardy",
            ("assign",),
            _jeopardy_summaries,
            JeopardyQueueFilter,
            _describe_alert,
        ),
        _holds_panel("holds", "Holds", (Role.ORDER_DESK, Role.FINANCE, Role.APPROVER)),
        Panel(
            "approvals",
            "Approval queue",
            (Role.APPROVER, Role.ORDER_DESK),
            selectors.approval_queue,
            "reporting/partials/panel_approvals.html",
            "approvals",
            ("approve", "reject"),
            lambda r: [
                S("Waiting by customer", "Customer", "Value", selectors.approvals_by(field="customer")),
                S("Waiting by channel", "Channel", "Value", selectors.approvals_by(field="channel")),
            ],
            None,
            lambda order: order.number,
        ),
        _holds_panel("credit", "Credit review", (Role.FINANCE, Role.ORDER_DESK), CREDIT_HOLD),
        _holds_panel("compliance", "Compliance review", (Role.ADMIN, Role.ORDER_DESK), COMPLIANCE_HOLD),
        Panel(
            "backorders",
            "Back-orders",
            (Role.FULFILLMENT, Role.ORDER_DESK),
            selectors.open_backorders,
            "reporting/partials/panel_backorders.html",
            "backorders",
            (),
            lambda r: [
                S("Back-orders by product", "SKU", "Qty", selectors.backorders_summary(field="product")),
                S(
                    "Back-orders by supplier",
                    "Supplier",
                    "Qty",
                    selectors.backorders_summary(field="supplier"),
                ),
                S(
                    "Back-orders by warehouse",
                    "Warehouse",
                    "Qty",
                    selectors.backorders_summary(field="warehouse"),
                ),
            ],
            BackorderQueueFilter,
        ),
        Panel(
            "unscheduled",
            "Unscheduled lines",
            (Role.FULFILLMENT, Role.ORDER_DESK),
            selectors.unscheduled_lines,
            "reporting/partials/panel_unscheduled.html",
            "unscheduled",
            (),
            _unscheduled_summaries,
            UnscheduledLineFilter,
        ),
        Panel(
            "steps",
            "Failed steps",
            (Role.FULFILLMENT,),
            selectors.failed_steps,
            "reporting/partials/panel_steps.html",
            "steps",
            ("retry",),
            lambda r: [
                S("Failed steps by step", "Step", "Steps", selectors.failed_steps_by(field="step")),
                S(
                    "Failed steps by warehouse",
                    "Warehouse",
                    "Steps",
                    selectors.failed_steps_by(field="warehouse"),
                ),
            ],
            FailedStepFilter,
            _describe_step,
        ),
        Panel(
            "webhooks",
            "Failing webhooks",
            (Role.ADMIN, Role.ORDER_DESK, Role.FULFILLMENT),
            selectors.webhook_problems,
            "reporting/partials/panel_webhooks.html",
            "webhooks",
            (),
            lambda r: [
                S("Failing by endpoint", "Endpoint", "Deliveries", selectors.webhook_problems_by_endpoint())
            ],
        ),
    )
}


def _jeopardy_split(request: HttpRequest) -> dict[str, int] | None:
    """Alerts per priority for the jeopardy tab, read only for those who see that tab."""
    return selectors.jeopardy_by_priority() if has_any_role(request, PANELS["jeopardy"].roles) else None


def visible_panels(request: HttpRequest) -> list[Panel]:
    return [p for p in PANELS.values() if has_any_role(request, p.roles)]


def queue(request: HttpRequest, panel: Panel) -> tuple[QueueFilter | None, QuerySet]:
    """The queue's rows narrowed by its FilterSet. An invalid filter lists nothing; its message is
    on its field (the form keeps what was typed)."""
    if panel.filterset is None:
        return None, panel.base()
    params = request.GET.copy()
    params.pop("page", None)
    filters = panel.filterset(params or None, queryset=panel.base(), request=request)
    if filters.is_bound and not filters.is_valid():
        return filters, panel.base().none()
    return filters, filters.qs


@require_GET
@role_required(*WORKBENCH_ROLES)
def workbench(request: HttpRequest, panel: str = "") -> HttpResponse:
    panels = visible_panels(request)
    if not panels:
        return redirect("ui:dashboard")
    current = PANELS.get(panel) if panel else panels[0]
    if current is None:
        raise Http404("No such panel.")
    if current not in panels:
        return forbidden(request, current.roles)
    context = workbench_context(request, panels, current)
    invalid = context["filters"] is not None and context["filters"].is_bound and context["filters"].errors
    return page(request, "reporting/workbench.html", context, status=400 if invalid else 200)


def workbench_context(
    request: HttpRequest, panels: list[Panel], current: Panel, posted: dict | None = None
) -> dict:
    """The queue page. `posted` is a refused bulk action: the rows stay ticked, the reason stays
    typed, and the problem shows on its field."""
    filters, qs = queue(request, current)
    rows = paginate(request, qs, per_page=50)
    mine = roles_of(request)
    can_act = True
    if "release" in current.actions:
        # Offer a hold only to those its code lets release it (the service has the last word).
        for hold in rows:
            hold.can_release = any(r in mine for r in hold.hold_code.release_roles)
        can_act = any(h.can_release for h in rows)
    params = request.GET.copy()
    params.pop("page", None)
    assignees = _assignees() if "assign" in current.actions and rows.object_list else []
    group = filters.group_paths if filters is not None else None
    return {
        "panels": panels,
        "panel": current,
        "counts": selectors.exception_counts(),
        "jeopardy_split": _jeopardy_split(request),
        "rows": rows,
        "filters": filters,
        "group": (
            S(
                f"{current.title} by {filters.form.cleaned_data['group']}",
                filters.form.cleaned_data["group"].capitalize(),
                "Rows",
                selectors.queue_groups(qs, group),
            )
            if group
            else None
        ),
        "summaries": current.summaries(request),
        "querystring": params.urlencode(),
        "posted": posted or {"ids": set(), "reason": "", "assignee": "", "errors": {}},
        "can_act": can_act,
        "assignees": assignees,
    }


def _assignees() -> list:
    """Who an alert can be given to: active staff, by name."""
    return list(
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        .order_by("username")
        .only("pk", "username", "first_name", "last_name")
    )


@require_GET
@role_required(*WORKBENCH_ROLES)
def workbench_counts(request: HttpRequest) -> HttpResponse:
    """The queue tabs with their counts: the workbench polls this (htmx) and swaps it in place."""
    current = PANELS.get(request.GET.get("panel", ""))
    return page(
        request,
        "reporting/partials/workbench_tabs.html",
        {
            "panels": visible_panels(request),
            "panel": current,
            "counts": selectors.exception_counts(),
            "jeopardy_split": _jeopardy_split(request),
        },
    )


MASS_VERBS = {
    "release": "released",
    "approve": "approved",
    "reject": "rejected",
    "retry": "sent to retry",
    "assign": "assigned",
}
MASS_LABELS = {
    "release": "Release",
    "approve": "Approve",
    "reject": "Reject",
    "retry": "Retry",
    "assign": "Assign",
}
UNASSIGN = "nobody"


@dataclass(frozen=True)
class RowResult:
    pk: int
    label: str
    ok: bool
    message: str


def _run(action: str, pk: int, actor: Actor, reason: str, assignee_id: int | None) -> None:
    if action == "assign":
        alert_assign(alert_id=pk, actor=actor, assignee_id=assignee_id)
    elif action == "release":
        hold_release(hold_id=pk, actor=actor, reason=reason)
    elif action == "approve":
        order_approve(order_id=pk, actor=actor, reason=reason)
    elif action == "reject":
        order_reject(order_id=pk, actor=actor, reason=reason)
    elif action == "retry":
        step_retry(step_id=pk, actor=actor.label)


@require_POST
@role_required(*WORKBENCH_ROLES)
def workbench_action(request: HttpRequest, panel: str) -> HttpResponse:
    """A bulk action on the ticked rows, in two steps: the first post shows what will happen to
    which rows and asks to confirm; the confirmed post runs each row through its own service call
    (its own transaction, so one refusal does not undo the others) and lists every row's result.
    A form that cannot run (no row ticked, no reason where one is needed) comes back as typed."""
    current = PANELS.get(panel)
    if current is None:
        raise Http404("No such panel.")
    if not has_any_role(request, current.roles):
        return forbidden(request, current.roles)
    action = request.POST.get("action", "")
    ids = list(dict.fromkeys(int(i) for i in request.POST.getlist("ids") if i.isdigit()))[:200]
    reason = request.POST.get("reason", "").strip()
    errors: dict[str, str] = {}
    if action not in current.actions:
        errors["action"] = "That action is not available here."
    if not ids:
        errors["ids"] = "Select at least one row."
    if action in {"release", "reject"} and not reason:
        errors["reason"] = "Enter a reason: it is kept on each order's history."
    assignee = request.POST.get("assignee", "")
    assignee_id = int(assignee) if assignee.isdigit() else None
    assignee_name = ""
    if action == "assign":
        if assignee_id is not None:
            user = get_user_model().objects.filter(pk=assignee_id, is_active=True, is_staff=True).first()
            if user is None:
                errors["assignee"] = "Choose an active staff member."
            else:
                assignee_name = user.get_username()
        elif assignee != UNASSIGN:
            errors["assignee"] = "Choose who takes these alerts (or nobody, to take them back)."
    if errors:
        posted = {
            "ids": set(ids),
            "reason": request.POST.get("reason", ""),
            "assignee": assignee,
            "errors": errors,
        }
        context = workbench_context(request, visible_panels(request), current, posted)
        return page(request, "reporting/workbench.html", context, status=400)
    # Only rows still in this queue are acted on; each is named as the person saw it.
    found = {row.pk: current.describe(row) for row in current.base().filter(pk__in=ids)}
    context = {
        "panels": visible_panels(request),
        "panel": current,
        "action": action,
        "action_label": MASS_LABELS[action],
        "verb": MASS_VERBS[action],
        "reason": reason,
        "assignee": assignee,
        "assignee_name": assignee_name or ("nobody" if action == "assign" else ""),
        "querystring": request.GET.urlencode(),
    }
    if request.POST.get("confirm") != "yes":
        context["selected"] = [(pk, found.get(pk, f"#{pk}"), pk in found) for pk in ids]
        context["counts"] = selectors.exception_counts()
        context["jeopardy_split"] = _jeopardy_split(request)
        return page(request, "reporting/workbench_confirm.html", context)
    actor = Actor.for_user(request.user)
    results: list[RowResult] = []
    for pk in ids:
        if pk not in found:
            results.append(
                RowResult(pk, f"#{pk}", False, "Not in this queue any more (someone dealt with it?).")
            )
            continue
        try:
            _run(action, pk, actor, reason, assignee_id)
        except DomainError as exc:
            results.append(RowResult(pk, found[pk], False, error_text(exc)))
        else:
            done_text = (
                f"Assigned to {assignee_name or 'nobody'}."
                if action == "assign"
                else f"{MASS_VERBS[action].capitalize()}."
            )
            results.append(RowResult(pk, found[pk], True, done_text))
    done = sum(r.ok for r in results)
    context.update(
        results=results,
        done=done,
        failed=len(results) - done,
        counts=selectors.exception_counts(),
        jeopardy_split=_jeopardy_split(request),
    )
    return page(request, "reporting/workbench_result.html", context)


@require_GET
@role_required(*ORDER_READERS)
def workbench_timeline(request: HttpRequest, number: str) -> HttpResponse:
    """Drill-down: the order's steps, planned vs actual vs required, on one time axis."""
    try:
        timeline = order_timeline(viewer=request.user, number=number)
    except DomainError as exc:
        raise Http404(exc.message) from exc
    back = request.GET.get("back", "")
    return page(
        request,
        "reporting/workbench_timeline.html",
        {"timeline": timeline, "number": number, "back": back if back.startswith("/workbench/") else ""},
    )
