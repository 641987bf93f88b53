"""`POST /api/v1/promise`: what-if options for an order draft (writes nothing);
`POST /api/v1/promise/choose`: reserve exactly one of them, or 409 with fresh options."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.models import DemandClass
from inventory.selectors import channel_warehouse_ids
from oms.kernel.api.errors import ErrorSerializer, envelope
from oms.kernel.api.inputs import StrictInputSerializer
from oms.kernel.exceptions import PermissionDenied, ValidationFailed
from partners.models import Channel

from .engine import Rule, Source
from .services import (
    PromiseDraft,
    StaleOption,
    lines_validate,
    option_as_dict,
    option_choose,
    promise_options,
)


class _CanPromise(BasePermission):
    def has_permission(self, request, view):
        return getattr(request.user, "channel", None) is not None or bool(
            getattr(request.user, "is_staff", False)
        )


class PromiseShipToSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    line1 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = serializers.CharField(min_length=2, max_length=2)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    postcode = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")


class PromiseLineInputSerializer(StrictInputSerializer):
    key = serializers.CharField(
        max_length=64, required=False, help_text="The caller's line id (default: 1, 2, ...)."
    )
    sku = serializers.CharField(max_length=64)
    quantity = serializers.DecimalField(
        max_digits=20, decimal_places=4, min_value=Decimal("0.0001"), help_text="Above zero."
    )
    need_date = serializers.DateField(required=False, allow_null=True, default=None)
    unit_price = serializers.DecimalField(max_digits=20, decimal_places=4, required=False, min_value=0)
    ship_set = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    arrival_set = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    allow_split = serializers.BooleanField(required=False, default=True)


class PromiseInputSerializer(StrictInputSerializer):
    ship_to = PromiseShipToSerializer()
    demand_class = serializers.ChoiceField(
        choices=DemandClass.choices, required=False, default=DemandClass.STANDARD
    )
    channel = serializers.CharField(
        max_length=40,
        required=False,
        help_text="Staff: whose warehouse ranking stands in where no rule matches.",
    )
    limit = serializers.IntegerField(min_value=1, max_value=6, required=False, default=6)
    lines = PromiseLineInputSerializer(many=True, min_length=1, max_length=200)


class PromiseChooseInputSerializer(PromiseInputSerializer):
    option_id = serializers.CharField(max_length=40)
    reference = serializers.CharField(
        max_length=40,
        required=False,
        help_text="The caller's draft or cart id the reservations are held for.",
    )


class PromisePieceSerializer(serializers.Serializer):
    warehouse = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=20, decimal_places=4)
    mode = serializers.CharField(help_text="warehouse, ship_from_store, backorder or drop_ship")
    scheduled_ship_date = serializers.DateField()
    scheduled_arrival_date = serializers.DateField()
    cost = serializers.DecimalField(max_digits=20, decimal_places=4)


class PromiseLineSerializer(serializers.Serializer):
    key = serializers.CharField()
    sku = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=20, decimal_places=4)
    rule = serializers.CharField()
    promised_date = serializers.DateField(allow_null=True)
    parked_quantity = serializers.DecimalField(max_digits=20, decimal_places=4)
    pieces = PromisePieceSerializer(many=True)
    trace = serializers.ListField(child=serializers.CharField())


class PromiseOptionSerializer(serializers.Serializer):
    option_id = serializers.CharField()
    kind = serializers.CharField(help_text="best, single, split, fastest, cheapest or drop_ship")
    label = serializers.CharField()
    promised_date = serializers.DateField(allow_null=True)
    cost = serializers.DecimalField(max_digits=20, decimal_places=4)
    lines = PromiseLineSerializer(many=True)


class PromiseOptionsSerializer(serializers.Serializer):
    options = PromiseOptionSerializer(many=True)


class PromiseChosenSerializer(serializers.Serializer):
    option = PromiseOptionSerializer()
    reservations = serializers.ListField(child=serializers.IntegerField())


class PromiseStaleSerializer(ErrorSerializer):
    options = PromiseOptionSerializer(many=True)


def _draft(request, data: dict) -> PromiseDraft:
    raw = [dict(line) for line in data["lines"]]
    channel_id = getattr(getattr(request.user, "channel", None), "pk", None)
    if channel_id is None and data.get("channel"):
        channel_id = Channel.objects.filter(code=data["channel"]).values_list("pk", flat=True).first()
    fallback = None
    if channel_id is not None:
        ranking = channel_warehouse_ids(channel_id=channel_id)
        if ranking:
            fallback = Rule(
                id=None,
                name="the channel's warehouse ranking",
                sources=tuple(Source(wid, rank) for rank, wid in enumerate(ranking, start=1)),
            )
    return PromiseDraft(
        ship_to=dict(data["ship_to"]),
        lines=lines_validate(raw),
        demand_class=data["demand_class"],
        fallback=fallback,
    )


STALE = OpenApiResponse(
    PromiseStaleSerializer, description="The option can no longer be kept: fresh options."
)


class PromiseApi(APIView):
    """Options for an order draft: on time from one source, split, a later single source, drop
    ship, cheapest, fastest; each with its dates, costs and per-line trace. Reserves nothing."""

    permission_classes = [_CanPromise]

    @extend_schema(
        operation_id="promise_options",
        request=PromiseInputSerializer,
        responses={
            200: PromiseOptionsSerializer,
            400: OpenApiResponse(
                ErrorSerializer, description="An unknown SKU or a quantity of zero, by line."
            ),
            401: OpenApiResponse(ErrorSerializer, description="No credential, or a bad one."),
            403: OpenApiResponse(ErrorSerializer, description="Not for this kind of caller."),
        },
    )
    def post(self, request):
        data = PromiseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        options = promise_options(
            draft=_draft(request, data.validated_data), limit=data.validated_data["limit"]
        )
        return Response({"options": [option_as_dict(o) for o in options]})


class PromiseChooseApi(APIView):
    """Reserve exactly the chosen option (its stock under row locks, its back-orders as dated
    demand, its capacity). An option no longer offered is refused with 409 and fresh options."""

    permission_classes = [_CanPromise]

    @extend_schema(
        operation_id="promise_choose",
        request=PromiseChooseInputSerializer,
        responses={
            200: PromiseChosenSerializer,
            400: OpenApiResponse(
                ErrorSerializer, description="An unknown SKU or a quantity of zero, by line."
            ),
            401: OpenApiResponse(ErrorSerializer, description="No credential, or a bad one."),
            403: OpenApiResponse(ErrorSerializer, description="Not for this kind of caller."),
            409: STALE,
        },
    )
    def post(self, request):
        data = PromiseChooseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        draft = _draft(request, data.validated_data)
        option_id = data.validated_data["option_id"]
        try:
            chosen, reservations = option_choose(
                draft=draft, option_id=option_id, reference=data.validated_data.get("reference") or option_id
            )
        except StaleOption as stale:
            response = envelope(stale.code, stale.message, status=stale.status_code)
            response.data["options"] = [option_as_dict(o) for o in stale.options]
            return response
        return Response({"option": option_as_dict(chosen), "reservations": reservations})


class PromiseOverrideInputSerializer(StrictInputSerializer):
    promised_date = serializers.DateField()
    reason = serializers.CharField(max_length=300)
    warehouse = serializers.CharField(
        max_length=40, required=False, help_text="A new source (code), for a line not reserved yet."
    )


class PromiseOverriddenSerializer(serializers.Serializer):
    fulfillment_line = serializers.IntegerField()
    promised_date = serializers.DateField()
    warehouse = serializers.CharField(allow_null=True)


class PromiseOverrideApi(APIView):
    """Staff: override a fulfillment line's promised date (and the source of a line not reserved
    yet) with a reason; audited, and told to the channel (`order.promise_changed`)."""

    permission_classes = [_CanPromise]

    @extend_schema(
        operation_id="promise_override",
        request=PromiseOverrideInputSerializer,
        responses={
            200: PromiseOverriddenSerializer,
            400: OpenApiResponse(ErrorSerializer, description="No reason, or an unknown warehouse."),
            401: OpenApiResponse(ErrorSerializer, description="No credential, or a bad one."),
            403: OpenApiResponse(ErrorSerializer, description="Only staff override a promise."),
            404: OpenApiResponse(ErrorSerializer, description="No such line on this order."),
            409: OpenApiResponse(
                ErrorSerializer, description="The line is reserved: move it with a what-if."
            ),
        },
    )
    def post(self, request, number: str, line_id: int):
        from inventory.models import Warehouse

        from ..services.whatif import whatif_line
        from .records import promise_override

        if not getattr(request.user, "is_staff", False):
            raise PermissionDenied("Only staff override a promise.")
        whatif_line(viewer=request.user, line_id=line_id, number=number)
        data = PromiseOverrideInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        warehouse_id = None
        if data.validated_data.get("warehouse"):
            warehouse_id = (
                Warehouse.objects.filter(code=data.validated_data["warehouse"])
                .values_list("pk", flat=True)
                .first()
            )
            if warehouse_id is None:
                raise ValidationFailed("No such warehouse.", fields={"warehouse": ["Unknown warehouse."]})
        line = promise_override(
            line_id=line_id,
            promised_date=data.validated_data["promised_date"],
            reason=data.validated_data["reason"],
            actor=f"user:{request.user.get_username()}",
            warehouse_id=warehouse_id,
        )
        return Response(
            {
                "fulfillment_line": line.pk,
                "promised_date": line.promised_date,
                "warehouse": line.warehouse.code if line.warehouse_id else None,
            }
        )
