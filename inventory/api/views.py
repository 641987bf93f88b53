"""Thin API views: validate input, call one service or selector, shape the output."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Supplier
from oms.kernel.api.errors import ErrorSerializer
from oms.kernel.exceptions import ValidationFailed

from .. import services
from ..filters import (
    PurchaseOrderFilter,
    ReorderRuleFilter,
    StockPositionFilter,
    TransferFilter,
    WarehouseFilter,
)
from ..models import MovementKind, PurchaseOrder, ReorderRule, Transfer, Warehouse
from ..selectors import availability, position_list, products_by_sku, warehouse_by_code
from ..states import PurchaseOrderStatus
from . import serializers as s
from .permissions import IsStaffOrChannel, IsStaffReader

ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}


def _availability_rows(*, items, on_date, warehouse, ship_to_country, demand_class):
    today = timezone.localdate()
    on_date = on_date or today
    found = availability(
        skus=[sku for sku, _ in items],
        warehouse_code=warehouse,
        ship_to_country=ship_to_country,
        demand_class=demand_class,
        today=today,
    )
    rows = []
    for sku, quantity in items:
        atp = found[sku]
        by_date = atp.available_by(on_date)
        rows.append(
            {
                "sku": sku,
                "date": on_date,
                "available_now": atp.available_by(today),
                "available_by_date": by_date,
                "quantity": quantity,
                "promisable": None if quantity is None else quantity <= by_date,
                "earliest_date": None if quantity is None else atp.earliest_date(quantity),
            }
        )
    return rows


class AvailabilityApi(APIView):
    """How many can be promised by a date, and the earliest date for a quantity (ATP)."""

    permission_classes = [IsStaffOrChannel]

    @extend_schema(
        operation_id="availability_get",
        parameters=[s.AvailabilityQuerySerializer],
        responses={200: s.AvailabilityOutputSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        data = s.AvailabilityQuerySerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        rows = _availability_rows(
            items=[(sku, v.get("quantity")) for sku in v["sku"]],
            on_date=v.get("date"),
            warehouse=v.get("warehouse"),
            ship_to_country=v.get("ship_to_country"),
            demand_class=v["demand_class"],
        )
        return Response(s.AvailabilityOutputSerializer(rows, many=True).data)


class AvailabilityBatchApi(APIView):
    permission_classes = [IsStaffOrChannel]

    @extend_schema(
        request=s.AvailabilityBatchInputSerializer,
        responses={200: s.AvailabilityOutputSerializer(many=True), **ERRORS},
    )
    def post(self, request):
        data = s.AvailabilityBatchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        rows = _availability_rows(
            items=[(item["sku"], item.get("quantity")) for item in v["items"]],
            on_date=v.get("date"),
            warehouse=v.get("warehouse"),
            ship_to_country=v.get("ship_to_country"),
            demand_class=v["demand_class"],
        )
        return Response(s.AvailabilityOutputSerializer(rows, many=True).data)


class WarehouseListApi(ListAPIView):
    permission_classes = [IsStaffReader]
    serializer_class = s.WarehouseOutputSerializer
    filterset_class = WarehouseFilter
    queryset = Warehouse.objects.order_by("code")


class StockPositionListApi(ListAPIView):
    permission_classes = [IsStaffReader]
    serializer_class = s.StockPositionOutputSerializer
    filterset_class = StockPositionFilter

    def get_queryset(self):
        return position_list()


class StockAdjustmentApi(APIView):
    permission_classes = [IsStaffReader]

    @extend_schema(
        request=s.StockAdjustmentInputSerializer, responses={201: s.StockPositionOutputSerializer, **ERRORS}
    )
    def post(self, request):
        data = s.StockAdjustmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        product_id = products_by_sku(skus=[v["sku"]])[v["sku"]]
        warehouse = warehouse_by_code(code=v["warehouse"])
        position = services.stock_adjust(
            product_id=product_id,
            warehouse_id=warehouse.pk,
            quantity=v["quantity"],
            reason=v["reason"],
            kind=MovementKind.CYCLE_COUNT if v["cycle_count"] else MovementKind.ADJUSTMENT,
            actor=request.user,
        )
        position = position_list().get(pk=position.pk)
        return Response(s.StockPositionOutputSerializer(position).data, status=201)


def _transfers():
    return Transfer.objects.select_related("from_warehouse", "to_warehouse").prefetch_related(
        "lines__product"
    )


class TransferListApi(ListAPIView):
    permission_classes = [IsStaffReader]
    serializer_class = s.TransferOutputSerializer
    filterset_class = TransferFilter

    def get_queryset(self):
        return _transfers().order_by("-pk")

    @extend_schema(request=s.TransferInputSerializer, responses={201: s.TransferOutputSerializer, **ERRORS})
    def post(self, request):
        data = s.TransferInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        skus = products_by_sku(skus=[line["sku"] for line in v["lines"]])
        transfer = services.transfer_create(
            from_warehouse_id=warehouse_by_code(code=v["from_warehouse"]).pk,
            to_warehouse_id=warehouse_by_code(code=v["to_warehouse"]).pk,
            lines=[services.TransferLineInput(skus[line["sku"]], line["quantity"]) for line in v["lines"]],
            expected_arrival=v.get("expected_arrival"),
            actor=request.user,
        )
        return Response(s.TransferOutputSerializer(_transfers().get(pk=transfer.pk)).data, status=201)


class TransferActionApi(APIView):
    permission_classes = [IsStaffReader]
    ACTIONS = {
        "ship": services.transfer_ship,
        "receive": services.transfer_receive,
        "cancel": services.transfer_cancel,
    }

    @extend_schema(
        operation_id="transfers_action",
        request=None,
        parameters=[
            OpenApiParameter("action", str, OpenApiParameter.PATH, enum=["ship", "receive", "cancel"])
        ],
        responses={200: s.TransferOutputSerializer, **ERRORS},
    )
    def post(self, request, pk: str, action: str):
        transfer = get_object_or_404(Transfer, pk=pk)
        self.ACTIONS[action](transfer_id=transfer.pk, actor=request.user)
        return Response(s.TransferOutputSerializer(_transfers().get(pk=pk)).data)


class ReorderRuleListApi(ListAPIView):
    permission_classes = [IsStaffReader]
    serializer_class = s.ReorderRuleOutputSerializer
    filterset_class = ReorderRuleFilter

    def get_queryset(self):
        return ReorderRule.objects.select_related("product", "warehouse", "preferred_supplier").order_by("pk")

    @extend_schema(
        request=s.ReorderRuleInputSerializer, responses={201: s.ReorderRuleOutputSerializer, **ERRORS}
    )
    def post(self, request):
        data = s.ReorderRuleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        product_id = products_by_sku(skus=[v.pop("sku")])[data.validated_data["sku"]]
        warehouse = warehouse_by_code(code=v.pop("warehouse"))
        supplier_code = v.pop("supplier", "")
        supplier = Supplier.objects.filter(code=supplier_code).first() if supplier_code else None
        if supplier_code and supplier is None:
            raise ValidationFailed("Unknown supplier.", fields={"supplier": ["Unknown."]})
        with transaction.atomic():
            rule, _ = ReorderRule.objects.update_or_create(
                product_id=product_id, warehouse=warehouse, defaults={**v, "preferred_supplier": supplier}
            )
        return Response(s.ReorderRuleOutputSerializer(rule).data, status=201)


def _purchase_orders():
    return PurchaseOrder.objects.select_related("supplier", "warehouse").prefetch_related("lines__product")


class PurchaseOrderListApi(ListAPIView):
    permission_classes = [IsStaffReader]
    serializer_class = s.PurchaseOrderOutputSerializer
    filterset_class = PurchaseOrderFilter

    def get_queryset(self):
        return _purchase_orders().order_by("-pk")

    @extend_schema(
        request=s.PurchaseOrderInputSerializer, responses={201: s.PurchaseOrderOutputSerializer, **ERRORS}
    )
    def post(self, request):
        data = s.PurchaseOrderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        skus = products_by_sku(skus=[line["sku"] for line in v["lines"]])
        supplier = Supplier.objects.filter(code=v["supplier"]).first()
        if supplier is None:
            raise ValidationFailed("Unknown supplier.", fields={"supplier": ["Unknown."]})
        po = services.purchase_order_create(
            supplier_id=supplier.pk,
            warehouse_id=warehouse_by_code(code=v["warehouse"]).pk,
            lines=[
                services.PurchaseLineInput(skus[line["sku"]], line["quantity"], line.get("unit_cost"))
                for line in v["lines"]
            ],
            lead_time_days=v["lead_time_days"],
            kind=v["kind"],
            demand_type=v["demand_type"],
            demand_id=v["demand_id"],
            ship_to=v["ship_to"],
            currency=v["currency"],
            actor=request.user,
            today=date.today(),
        )
        return Response(s.PurchaseOrderOutputSerializer(_purchase_orders().get(pk=po.pk)).data, status=201)


class PurchaseOrderActionApi(APIView):
    permission_classes = [IsStaffReader]
    TARGETS = {
        "approve": PurchaseOrderStatus.APPROVED,
        "send": PurchaseOrderStatus.SENT,
        "cancel": PurchaseOrderStatus.CANCELED,
        "close": PurchaseOrderStatus.CLOSED,
    }

    @extend_schema(
        operation_id="purchase_orders_action",
        request=None,
        parameters=[
            OpenApiParameter(
                "action", str, OpenApiParameter.PATH, enum=["approve", "send", "cancel", "close"]
            )
        ],
        responses={200: s.PurchaseOrderOutputSerializer, **ERRORS},
    )
    def post(self, request, pk: str, action: str):
        po = get_object_or_404(PurchaseOrder, pk=pk)
        services.purchase_order_transition(
            purchase_order_id=po.pk, target=self.TARGETS[action], actor=request.user
        )
        return Response(s.PurchaseOrderOutputSerializer(_purchase_orders().get(pk=pk)).data)


class PurchaseOrderReceiveApi(APIView):
    permission_classes = [IsStaffReader]

    @extend_schema(
        request=s.PurchaseOrderReceiptInputSerializer,
        responses={200: s.PurchaseOrderOutputSerializer, **ERRORS},
    )
    def post(self, request, pk: int):
        po = get_object_or_404(PurchaseOrder, pk=pk)
        data = s.PurchaseOrderReceiptInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        services.purchase_order_receive(
            purchase_order_id=po.pk,
            lines=[services.ReceiptInput(line["line_id"], line["quantity"]) for line in v["lines"]],
            reference=v["reference"],
            actor=request.user,
        )
        return Response(s.PurchaseOrderOutputSerializer(_purchase_orders().get(pk=pk)).data)
