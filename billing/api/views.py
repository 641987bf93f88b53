"""Thin views: payments of an order (channel or staff), authorization, refunds, offline payments,
credit memos and voids, statement import, aging (finance), and the providers' webhooks."""

from __future__ import annotations

from django.db.models import Count
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions as drf
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.kernel.api.errors import ErrorSerializer
from oms.kernel.roles import Role
from orders.actors import Actor
from orders.selectors import orders_visible_to

from ..models import Invoice, Payment, StatementLine
from ..services import invoice_void
from ..services.credit_memos import CreditLine, credit_memo_create
from ..services.payments import (
    Allocation,
    WebhookRejected,
    order_payment_held,
    payment_authorize,
    payment_record_offline,
    payment_refund,
    webhook_receive,
)
from ..services.receivables import aging
from ..services.statements import statement_import
from .serializers import (
    AgingRowSerializer,
    CreditMemoInputSerializer,
    CreditMemoOutputSerializer,
    InvoiceOutputSerializer,
    InvoiceVoidInputSerializer,
    OfflinePaymentInputSerializer,
    OrderPaymentsOutputSerializer,
    PaymentAuthorizeInputSerializer,
    PaymentOperationOutputSerializer,
    PaymentOutputSerializer,
    PaymentRefundInputSerializer,
    StatementImportInputSerializer,
    StatementOutputSerializer,
    WebhookAckSerializer,
)

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Bad input."),
    401: OpenApiResponse(ErrorSerializer, description="No credential, or a bad one."),
    403: OpenApiResponse(ErrorSerializer, description="Not for this kind of caller."),
    404: OpenApiResponse(ErrorSerializer, description="Absent, or not yours."),
    409: OpenApiResponse(ErrorSerializer, description="Illegal transition / conflict."),
}


class IsChannelOrStaff(BasePermission):
    message = "Payments of an order are for its channel's key and staff."

    def has_permission(self, request, view):
        user = request.user
        return getattr(user, "channel", None) is not None or bool(getattr(user, "is_staff", False))


class IsFinance(BasePermission):
    message = "This is for finance staff."

    def has_permission(self, request, view):
        user = request.user
        if not getattr(user, "is_staff", False):
            return False
        actor = Actor.for_user(user)
        return actor.has_role(Role.FINANCE) or actor.has_role(Role.ADMIN)


def _actor(request) -> str:
    return Actor.from_principal(request.user).label


class OrderPaymentsApi(APIView):
    """The payments of an order (GET), or a new card/PayPal authorization for it (POST)."""

    permission_classes = [IsChannelOrStaff]

    def _order(self, request, number):
        return get_object_or_404(orders_visible_to(request.user).filter(number=number, is_current=True))

    @extend_schema(responses={200: OrderPaymentsOutputSerializer, **ERRORS})
    def get(self, request, number: str):
        order = self._order(request, number)
        payments = Payment.objects.filter(order_number=order.number).order_by("pk")
        return Response(
            OrderPaymentsOutputSerializer(
                {"number": order.number, "payment_hold": order_payment_held(order.pk), "payments": payments}
            ).data
        )

    @extend_schema(
        request=PaymentAuthorizeInputSerializer, responses={201: PaymentOutputSerializer, **ERRORS}
    )
    def post(self, request, number: str):
        order = self._order(request, number)
        data = PaymentAuthorizeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        payment = payment_authorize(
            order_id=order.pk,
            method=v["method"],
            token=v["token"],
            key=f"auth:{order.pk}:{v['key']}",
            amount=v.get("amount"),
            actor=_actor(request),
        )
        return Response(PaymentOutputSerializer(payment).data, status=201)


class PaymentRefundApi(APIView):
    permission_classes = [IsFinance]

    @extend_schema(
        request=PaymentRefundInputSerializer, responses={200: PaymentOperationOutputSerializer, **ERRORS}
    )
    def post(self, request, number: str):
        payment = get_object_or_404(Payment, number=number)
        data = PaymentRefundInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        op = payment_refund(
            payment_id=payment.pk,
            amount=v["amount"],
            key=f"refund:{payment.pk}:{v['key']}",
            reason=v["reason"],
            actor=_actor(request),
        )
        return Response(PaymentOperationOutputSerializer(op).data)


class OfflinePaymentApi(APIView):
    """Record money received outside a gateway (bank transfer, check with deposit date, cash)."""

    permission_classes = [IsFinance]

    @extend_schema(request=OfflinePaymentInputSerializer, responses={201: PaymentOutputSerializer, **ERRORS})
    def post(self, request):
        data = OfflinePaymentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        allocations = []
        for a in v["allocations"]:
            invoice = Invoice.objects.filter(number=a["invoice"], customer_id=v["customer"]).first()
            if invoice is None:
                raise drf.ValidationError({"allocations": [f"No invoice {a['invoice']} of this customer."]})
            allocations.append(Allocation(invoice.pk, a["amount"]))
        payment = payment_record_offline(
            customer_id=v["customer"],
            method=v["method"],
            amount=v["amount"],
            currency=v["currency"].upper(),
            allocations=allocations,
            reference=v["reference"],
            check_number=v["check_number"],
            deposit_date=v["deposit_date"],
            actor=_actor(request),
        )
        return Response(PaymentOutputSerializer(payment).data, status=201)


class CreditMemoCreateApi(APIView):
    permission_classes = [IsFinance]

    @extend_schema(request=CreditMemoInputSerializer, responses={201: CreditMemoOutputSerializer, **ERRORS})
    def post(self, request, number: str):
        invoice = get_object_or_404(Invoice, number=number)
        data = CreditMemoInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        memo = credit_memo_create(
            invoice_id=invoice.pk,
            reason=v["reason"],
            refund_to=v["refund_to"],
            request_key=f"cm:{invoice.pk}:{v['key']}",
            lines=[CreditLine(x["invoice_line"], x["quantity"]) for x in v["lines"]] or None,
            actor=_actor(request),
        )
        return Response(CreditMemoOutputSerializer(memo).data, status=201)


class InvoiceVoidApi(APIView):
    permission_classes = [IsFinance]

    @extend_schema(request=InvoiceVoidInputSerializer, responses={200: InvoiceOutputSerializer, **ERRORS})
    def post(self, request, number: str):
        invoice = get_object_or_404(Invoice, number=number)
        data = InvoiceVoidInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invoice = invoice_void(
            invoice_id=invoice.pk, actor=_actor(request), reason=data.validated_data["reason"]
        )
        return Response(InvoiceOutputSerializer(invoice).data)


class StatementImportApi(APIView):
    permission_classes = [IsFinance]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": StatementImportInputSerializer},
        responses={201: StatementOutputSerializer, **ERRORS},
    )
    def post(self, request):
        data = StatementImportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        statement = statement_import(
            content=v["file"].read(),
            format=v["format"],
            currency=v["currency"],
            filename=v["file"].name,
            actor=_actor(request),
        )
        counts = dict(
            StatementLine.objects.filter(statement=statement)
            .values("match_status")
            .annotate(n=Count("pk"))
            .values_list("match_status", "n")
        )
        return Response(
            StatementOutputSerializer(
                {"id": statement.pk, "line_count": statement.line_count, "counts": counts}
            ).data,
            status=201,
        )


class AgingApi(APIView):
    """Open receivables per customer and currency in aging buckets (days past due)."""

    permission_classes = [IsFinance]

    @extend_schema(responses={200: AgingRowSerializer(many=True), **ERRORS})
    def get(self, request):
        return Response(AgingRowSerializer(aging(), many=True).data)


class PaymentWebhookApi(APIView):
    """A provider's webhook (Stripe: Stripe-Signature; PayPal: transmission signature). A bad
    signature is answered 401, logged, and changes nothing; a duplicate changes nothing twice."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request):
        return "Signature"

    @extend_schema(request=None, responses={200: WebhookAckSerializer, **ERRORS})
    def post(self, request, provider: str):
        if provider not in ("stripe", "paypal"):
            raise drf.NotFound("Unknown provider.")
        try:
            outcome = webhook_receive(provider=provider, body=request.body, headers=request.headers)
        except WebhookRejected as exc:
            raise drf.AuthenticationFailed("Bad webhook signature.") from exc
        return Response(WebhookAckSerializer({"outcome": outcome}).data)
