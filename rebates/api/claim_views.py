"""Thin API views for claims, settlements and the checkbook: validate input, call one service or
selector, shape the output. Finance only, except a customer's checkbook (sales sees it too)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Supplier
from customers.models import Customer
from oms.kernel.api.errors import ErrorSerializer
from oms.kernel.roles import Role, user_has_role

from ..checkbook import Scope, checkbook, checkbook_series, customer_tier_forecasts, tier_forecast
from ..filters import ClaimFilter, SettlementFilter
from ..models import Claim, ClaimLine, ClaimSettlement, RebateProgram
from ..services import claims as svc
from . import claim_serializers as s

ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}


class IsFinance(BasePermission):
    message = "Claims and settlements need the finance role."

    def has_permission(self, request, view):
        return bool(getattr(request.user, "is_staff", False)) and user_has_role(request.user, Role.FINANCE)


class IsFinanceOrSales(BasePermission):
    message = "Customer rebates need the finance or order desk role."

    def has_permission(self, request, view):
        user = request.user
        return bool(getattr(user, "is_staff", False)) and (
            user_has_role(user, Role.FINANCE) or user_has_role(user, Role.ORDER_DESK)
        )


def _claims():
    return Claim.objects.select_related("program", "supplier", "customer", "parent").order_by("-pk")


def _detail(pk: int) -> Claim:
    from django.db.models import Prefetch

    return get_object_or_404(
        _claims().prefetch_related(
            Prefetch("lines", queryset=ClaimLine.objects.select_related("accrual").order_by("pk"))
        ),
        pk=pk,
    )


class ClaimListApi(ListAPIView):
    """Claims, newest first; create one from chosen accruals of one program and counterparty."""

    permission_classes = [IsFinance]
    serializer_class = s.ClaimOutputSerializer
    filterset_class = ClaimFilter

    def get_queryset(self):
        return _claims()

    @extend_schema(
        operation_id="rebate_claim_create",
        request=s.ClaimCreateInputSerializer,
        responses={201: s.ClaimDetailOutputSerializer, **ERRORS},
    )
    def post(self, request):
        data = s.ClaimCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        claim = svc.claim_create(
            program_id=v["program"], accrual_ids=v["accruals"], actor=request.user, note=v["note"]
        )
        return Response(s.ClaimDetailOutputSerializer(_detail(claim.pk)).data, status=201)


class ClaimGenerateApi(APIView):
    permission_classes = [IsFinance]

    @extend_schema(
        operation_id="rebate_claims_generate",
        request=s.ClaimGenerateInputSerializer,
        responses={200: s.ClaimOutputSerializer(many=True), **ERRORS},
    )
    def post(self, request):
        data = s.ClaimGenerateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = svc.claims_generate(program_id=data.validated_data.get("program"), actor=request.user)
        return Response(
            s.ClaimOutputSerializer(_claims().filter(pk__in=[c.pk for c in created]), many=True).data
        )


class ClaimDetailApi(APIView):
    permission_classes = [IsFinance]

    @extend_schema(operation_id="rebate_claim_get", responses={200: s.ClaimDetailOutputSerializer, **ERRORS})
    def get(self, request, pk: int):
        return Response(s.ClaimDetailOutputSerializer(_detail(pk)).data)


_ACTIONS = {
    "submit": (s.ClaimSubmitInputSerializer, svc.claim_submit),
    "approve": (s.ClaimActionInputSerializer, svc.claim_approve),
    "dispute": (s.ClaimDisputeInputSerializer, svc.claim_dispute),
    "cancel": (s.ClaimActionInputSerializer, svc.claim_cancel),
}


def _action_view(action: str):
    serializer, service = _ACTIONS[action]

    class _Api(APIView):
        permission_classes = [IsFinance]

        @extend_schema(
            operation_id=f"rebate_claim_{action}",
            request=serializer,
            responses={200: s.ClaimDetailOutputSerializer, **ERRORS},
        )
        def post(self, request, pk: int):
            get_object_or_404(Claim, pk=pk)
            data = serializer(data=request.data)
            data.is_valid(raise_exception=True)
            v = dict(data.validated_data)
            service(claim_id=pk, actor=request.user, expected_version=v.pop("version", None), **v)
            return Response(s.ClaimDetailOutputSerializer(_detail(pk)).data)

    _Api.__name__ = f"Claim{action.capitalize()}Api"
    _Api.__qualname__ = _Api.__name__
    return _Api


ClaimSubmitApi = _action_view("submit")
ClaimApproveApi = _action_view("approve")
ClaimDisputeApi = _action_view("dispute")
ClaimCancelApi = _action_view("cancel")


class ClaimSettleApi(APIView):
    """Record what was received (or paid): less than the claim splits the rest off into a child
    claim, or writes it off at or below the threshold; more is refused (400, nothing saved)."""

    permission_classes = [IsFinance]

    @extend_schema(
        operation_id="rebate_claim_settle",
        request=s.ClaimSettleInputSerializer,
        responses={201: s.SettlementOutputSerializer, **ERRORS},
    )
    def post(self, request, pk: int):
        get_object_or_404(Claim, pk=pk)
        data = s.ClaimSettleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        settlement = svc.claim_settle(
            claim_id=pk, actor=request.user, expected_version=v.pop("version", None), **v
        )
        return Response(s.SettlementOutputSerializer(settlement).data, status=201)


class ClaimWriteOffApi(APIView):
    permission_classes = [IsFinance]

    @extend_schema(
        operation_id="rebate_claim_write_off",
        request=s.ClaimActionInputSerializer,
        responses={201: s.SettlementOutputSerializer, **ERRORS},
    )
    def post(self, request, pk: int):
        get_object_or_404(Claim, pk=pk)
        data = s.ClaimActionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        settlement = svc.claim_write_off(
            claim_id=pk, actor=request.user, expected_version=v.pop("version", None), **v
        )
        return Response(s.SettlementOutputSerializer(settlement).data, status=201)


class SettlementListApi(ListAPIView):
    permission_classes = [IsFinance]
    serializer_class = s.SettlementOutputSerializer
    filterset_class = SettlementFilter

    def get_queryset(self):
        return ClaimSettlement.objects.select_related("claim", "child").order_by("-pk")


def _checkbook_body(kind: str, obj, scope: Scope, forecasts) -> dict:
    figures = checkbook(scope)
    series = None
    if figures:
        currency = figures[0].currency
        series = {"currency": currency, **checkbook_series(scope, currency)}
    return s.CheckbookOutputSerializer(
        {
            "scope": kind,
            "id": obj.pk,
            "name": getattr(obj, "name", str(obj)),
            "figures": [f.as_dict() for f in figures],
            "series": series,
            "forecasts": [f.as_dict() for f in forecasts],
        }
    ).data


class ProgramCheckbookApi(APIView):
    permission_classes = [IsFinance]

    @extend_schema(
        operation_id="rebate_checkbook_program", responses={200: s.CheckbookOutputSerializer, **ERRORS}
    )
    def get(self, request, pk: int):
        program = get_object_or_404(RebateProgram.objects.prefetch_related("tiers"), pk=pk)
        forecasts = [tier_forecast(program, today=timezone.localdate())] if program.tiers.all() else []
        return Response(_checkbook_body("program", program, Scope(program_id=program.pk), forecasts))


class SupplierCheckbookApi(APIView):
    permission_classes = [IsFinance]

    @extend_schema(
        operation_id="rebate_checkbook_supplier", responses={200: s.CheckbookOutputSerializer, **ERRORS}
    )
    def get(self, request, pk: int):
        supplier = get_object_or_404(Supplier, pk=pk)
        return Response(_checkbook_body("supplier", supplier, Scope(supplier_id=supplier.pk), []))


class CustomerCheckbookApi(APIView):
    permission_classes = [IsFinanceOrSales]

    @extend_schema(
        operation_id="rebate_checkbook_customer", responses={200: s.CheckbookOutputSerializer, **ERRORS}
    )
    def get(self, request, pk: int):
        customer = get_object_or_404(Customer, pk=pk)
        forecasts = customer_tier_forecasts(customer.pk, today=timezone.localdate())
        return Response(_checkbook_body("customer", customer, Scope(customer_id=customer.pk), forecasts))
