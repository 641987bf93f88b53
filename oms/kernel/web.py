"""Staff UI plumbing shared by every app's screens: role checks, the page context (navigation),
pagination, sorting and streamed CSV. No business rule lives here; views call services."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, StreamingHttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from .exceptions import DomainError
from .roles import Role

ALL_ROLES = frozenset(Role)


def roles_of(request: HttpRequest) -> frozenset[str]:
    """The user's roles, read once per request (the same rule as `user_has_role`: staff only,
    active, a superuser holds every role)."""
    cached = getattr(request, "_oms_roles", None)
    if cached is not None:
        return cached
    user = request.user
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        roles: frozenset[str] = frozenset()
    elif user.is_superuser:
        roles = frozenset(r.value for r in ALL_ROLES)
    else:
        labels = {label: value for value, label in Role.choices}
        names = user.groups.values_list("name", flat=True)
        roles = frozenset(labels[n] for n in names if n in labels)
        if Role.ADMIN in roles:
            roles = frozenset(r.value for r in ALL_ROLES)
    request._oms_roles = roles
    return roles


def has_any_role(request: HttpRequest, roles: Iterable[str]) -> bool:
    return bool(roles_of(request) & {Role(r).value for r in roles})


def forbidden(request: HttpRequest, roles: Iterable[str] = ()) -> HttpResponse:
    body = render_to_string(
        "403.html", {"nav": nav_for(request), "needed": [Role(r).label for r in roles]}, request
    )
    return HttpResponseForbidden(body)


def role_required(*roles: Role) -> Callable:
    """Signed in, and holding one of `roles` (admins hold every role); else the sign-in page or
    a 403 page. Checked on the server for every request, GET or POST."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if roles and not has_any_role(request, roles):
                return forbidden(request, roles)
            return view(request, *args, **kwargs)

        wrapped.required_roles = tuple(roles)  # read by tests that walk every screen
        return wrapped

    return decorator


# Who sees which section. A view's own `role_required` is what enforces it; the menu only hides
# links a user could not open anyway.
ORDER_READERS = (Role.ORDER_DESK, Role.FULFILLMENT, Role.FINANCE, Role.APPROVER)
ORDER_WRITERS = (Role.ORDER_DESK,)
WORKBENCH_ROLES = (Role.ORDER_DESK, Role.FULFILLMENT, Role.FINANCE, Role.APPROVER)
INVENTORY_ROLES = (Role.FULFILLMENT,)
CUSTOMER_READERS = (Role.ORDER_DESK, Role.FINANCE, Role.APPROVER)
CRM_ROLES = (Role.ORDER_DESK, Role.APPROVER)  # the sales side: the desk and its managers
LEAD_MANAGERS = (Role.APPROVER,)  # see every rep's leads (admins hold every role)
SHIPPING_ROLES = (Role.FULFILLMENT,)
REBATE_ROLES = (Role.FINANCE,)
DASHBOARD_ROLES = tuple(Role)


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: tuple[Role, ...]
    icon: str = ""


NAV: tuple[NavItem, ...] = (
    NavItem("Dashboard", "ui:dashboard", DASHBOARD_ROLES, "home"),
    NavItem("New order", "orders:entry", ORDER_WRITERS, "plus"),
    NavItem("Orders", "ui:order-list", ORDER_READERS, "list"),
    NavItem("Workbench", "ui:workbench", WORKBENCH_ROLES, "alert"),
    NavItem("Customers", "ui:customers", CUSTOMER_READERS, "users"),
    NavItem("Leads", "customers:pipeline", CRM_ROLES, "target"),
    NavItem("Stock", "inventory:stock", INVENTORY_ROLES, "box"),
    NavItem("Purchasing", "inventory:purchase-orders", INVENTORY_ROLES, "truck"),
    NavItem("Shipments", "fulfillment:shipments", SHIPPING_ROLES, "send"),
    NavItem("Rebates", "rebates:checkbook", REBATE_ROLES, "percent"),
    NavItem("Documents", "documents:list", WORKBENCH_ROLES, "list"),
    NavItem("Receivables", "billing:aging", (Role.FINANCE,), "list"),
    NavItem("Reports", "ui:reports:index", DASHBOARD_ROLES, "chart"),
)


def may_use_console(request: HttpRequest) -> bool:
    """The console (Django admin) opens for active staff; every role's group carries admin
    permissions (`oms.kernel.roles.ROLE_PERMISSIONS`), so a staff user with a role has something
    to do there."""
    user = request.user
    return bool(getattr(user, "is_staff", False) and user.is_active and roles_of(request))


def nav_for(request: HttpRequest) -> list[NavItem]:
    return [item for item in NAV if has_any_role(request, item.roles)]


def page(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None, **kwargs
) -> HttpResponse:
    """Render a full page (or, for an htmx request, the same template: partials extend nothing)."""
    ctx = {"nav": nav_for(request), "roles": roles_of(request), "console": may_use_console(request)}
    ctx.update(context or {})
    return render(request, template, ctx, **kwargs)


def error_text(exc: DomainError) -> str:
    """A domain error as one sentence for a flash message, field problems appended."""
    parts = [exc.message]
    for field, problems in (exc.fields or {}).items():
        parts.append(f"{field}: {' '.join(str(p) for p in problems)}")
    return " ".join(parts)


def paginate(request: HttpRequest, rows, *, per_page: int = 25) -> Page:
    try:
        number = int(request.GET.get("page") or 1)
    except ValueError:
        number = 1
    paginator = Paginator(rows, per_page)
    return paginator.get_page(number)


def sort_param(request: HttpRequest, allowed: dict[str, str], default: str) -> tuple[str, str]:
    """(?sort=key or -key) -> (the key as given, the ORDER BY expression). Unknown keys fall back
    to the default, so a URL can never order by an arbitrary column."""
    raw = request.GET.get("sort") or default
    key = raw.lstrip("-")
    if key not in allowed:
        raw, key = default, default.lstrip("-")
    prefix = "-" if raw.startswith("-") else ""
    return raw, prefix + allowed[key]


# --- CSV -------------------------------------------------------------------------------------------

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe. Numbers
    are left alone (a negative amount is data, not a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> StreamingHttpResponse:
    """Stream rows as they are read (memory does not grow with the export)."""
    writer = csv.writer(_Echo())

    def generate() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([csv_safe(v) for v in row])

    response = StreamingHttpResponse(generate(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"
