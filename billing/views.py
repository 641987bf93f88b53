"""Staff screens (finance): receivables aging, bank statement import and match review, the
payments of an order with refund and offline payment forms. Thin: services do the work."""

from __future__ import annotations

import uuid
from datetime import date

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from oms.kernel.exceptions import DomainError
from oms.kernel.roles import Role
from oms.kernel.web import error_text, page, paginate, role_required
from orders.models import SalesOrder

from .forms import LineDismissForm, LinePostForm, OfflinePaymentForm, RefundForm, StatementImportForm
from .models import BankStatement, Invoice, Payment, StatementLine
from .services.payments import order_payment_held, payment_record_offline, payment_refund
from .services.receivables import aging
from .services.statements import review_lines, statement_import, statement_line_dismiss, statement_line_post
from .states import MatchStatus

FINANCE = (Role.FINANCE,)


def _label(request: HttpRequest) -> str:
    return f"user:{request.user.get_username()}"


@role_required(*FINANCE)
def aging_view(request: HttpRequest) -> HttpResponse:
    try:
        as_of = date.fromisoformat(request.GET.get("as_of") or "") if request.GET.get("as_of") else None
    except ValueError:
        as_of = None
    return page(request, "billing/aging.html", {"rows": aging(as_of=as_of), "as_of": as_of})


@require_http_methods(["GET", "POST"])
@role_required(*FINANCE)
def statements(request: HttpRequest) -> HttpResponse:
    form = StatementImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            statement = statement_import(
                content=d["file"].read(),
                format=d["format"],
                currency=d["currency"],
                filename=d["file"].name,
                actor=_label(request),
            )
        except DomainError as exc:
            form.add_error(None, error_text(exc))
        else:
            messages.success(request, f"Statement imported: {statement.line_count} lines.")
            return redirect("billing:statement", pk=statement.pk)
    rows = paginate(
        request,
        BankStatement.objects.annotate(
            open_lines=Count(
                "lines", filter=~Q(lines__match_status__in=[MatchStatus.POSTED, MatchStatus.DISMISSED])
            )
        ).order_by("-pk"),
    )
    return page(request, "billing/statements.html", {"form": form, "rows": rows})


@role_required(*FINANCE)
def statement(request: HttpRequest, pk: int) -> HttpResponse:
    st = get_object_or_404(BankStatement, pk=pk)
    counts = dict(
        StatementLine.objects.filter(statement=st)
        .values("match_status")
        .annotate(n=Count("pk"))
        .values_list("match_status", "n")
    )
    return page(
        request,
        "billing/statement.html",
        {
            "statement": st,
            "lines": list(review_lines(statement_id=st.pk)),
            "counts": [(MatchStatus(k).label, v) for k, v in sorted(counts.items())],
        },
    )


@require_POST
@role_required(*FINANCE)
def statement_line_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    line = get_object_or_404(StatementLine, pk=pk)
    try:
        if action == "post":
            form = LinePostForm(request.POST)
            form.is_valid()
            statement_line_post(
                line_id=line.pk, actor=_label(request), invoice_number=form.cleaned_data.get("invoice", "")
            )
            messages.success(request, f"Line {line.line_no} posted.")
        elif action == "dismiss":
            form = LineDismissForm(request.POST)
            if not form.is_valid():
                messages.error(request, f"Line {line.line_no}: say why it is dismissed.")
            else:
                statement_line_dismiss(
                    line_id=line.pk, actor=_label(request), reason=form.cleaned_data["reason"]
                )
                messages.success(request, f"Line {line.line_no} dismissed.")
    except DomainError as exc:
        messages.error(request, f"Line {line.line_no}: {error_text(exc)}")
    return redirect("billing:statement", pk=line.statement_id)


@require_http_methods(["GET", "POST"])
@role_required(*FINANCE)
def order_payments(request: HttpRequest, number: str) -> HttpResponse:
    order = get_object_or_404(SalesOrder, number=number, is_current=True)
    offline = OfflinePaymentForm(request.POST if request.POST.get("form") == "offline" else None)
    refund = RefundForm(request.POST if request.POST.get("form") == "refund" else None)
    if request.method == "POST":
        try:
            if offline.is_bound and offline.is_valid():
                d = offline.cleaned_data
                payment_record_offline(
                    customer_id=order.customer_id,
                    method=d["method"],
                    amount=d["amount"],
                    currency=order.currency,
                    order_id=order.pk,
                    reference=d["reference"],
                    check_number=d["check_number"],
                    deposit_date=d["deposit_date"],
                    actor=_label(request),
                )
                messages.success(request, "Payment recorded.")
                return redirect("billing:order-payments", number=number)
            if refund.is_bound and refund.is_valid():
                d = refund.cleaned_data
                payment = get_object_or_404(Payment, number=d["payment"], order_id=order.pk)
                op = payment_refund(
                    payment_id=payment.pk,
                    amount=d["amount"],
                    key=f"ui:{uuid.uuid4()}",
                    reason=d["reason"],
                    actor=_label(request),
                )
                messages.success(request, f"Refund {op.status}.")
                return redirect("billing:order-payments", number=number)
        except DomainError as exc:
            messages.error(request, error_text(exc))
    return page(
        request,
        "billing/order_payments.html",
        {
            "order": order,
            "held": order_payment_held(order.pk),
            "payments": Payment.objects.filter(order_id=order.pk).order_by("pk"),
            "invoices": Invoice.objects.filter(order_id=order.pk).order_by("pk"),
            "offline": offline,
            "refund_action": reverse("billing:order-payments", kwargs={"number": number}),
        },
    )
