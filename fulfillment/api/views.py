"""Thin views: inbound shipment advice and status from partners, an order's fulfillment plan,
staff actions on steps."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.kernel.api.errors import ErrorSerializer
from orders.actors import Actor
from partners.permissions import IsPartner, IsStaff

from ..filters import JeopardyAlertFilter
from ..selectors import alert_queryset, order_fulfillment
from ..services import (
    AdviceLine,
    process_cancel,
    shipment_advice_record,
    shipment_status_update,
    step_retry,
    step_skip,
)
from ..services.jeopardy import alert_acknowledge, alert_assign, alert_resolve
from .serializers import (
    FulfillmentStepOutputSerializer,
    JeopardyAlertAssignInputSerializer,
    JeopardyAlertOutputSerializer,
    JeopardyAlertResolveInputSerializer,
    OrderFulfillmentOutputSerializer,
    ProcessCancelInputSerializer,
    ShipmentAdviceInputSerializer,
    ShipmentAdviceOutputSerializer,
    ShipmentStatusInputSerializer,
    ShipmentStatusOutputSerializer,
    StepActionInputSerializer,
)

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Bad input."),
    401: OpenApiResponse(ErrorSerializer, description="No credential, or a bad one."),
    403: OpenApiResponse(ErrorSerializer, description="Not for this kind of caller."),
    404: OpenApiResponse(ErrorSerializer, description="Absent, or not yours."),
    409: OpenApiResponse(ErrorSerializer, description="Illegal transition / conflict."),
}


class ShipmentAdviceApi(APIView):
    """A warehouse, 3PL or supplier confirms what shipped (partial quantities split the line)."""

    permission_classes = [IsPartner]

    @extend_schema(
        request=ShipmentAdviceInputSerializer,
        responses={
            200: ShipmentAdviceOutputSerializer,
            **ERRORS,
            422: OpenApiResponse(ErrorSerializer, description="advice_id reused with another body"),
        },
    )
    def post(self, request):
        data = ShipmentAdviceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = shipment_advice_record(
            partner=request.user.partner,
            advice_id=v["advice_id"],
            shipment_number=v["shipment"],
            lines=[
                AdviceLine(fulfillment_line_id=x["fulfillment_line"], quantity=x["quantity"])
                for x in v.get("lines", [])
            ],
            carrier=v["carrier"],
            service=v["service"],
            tracking_number=v["tracking_number"],
        )
        return Response(ShipmentAdviceOutputSerializer(result).data)


class ShipmentStatusApi(APIView):
    """Delivery or exception for a shipment."""

    permission_classes = [IsPartner]

    @extend_schema(
        request=ShipmentStatusInputSerializer, responses={200: ShipmentStatusOutputSerializer, **ERRORS}
    )
    def post(self, request):
        data = ShipmentStatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        shipment = shipment_status_update(
            partner=request.user.partner, shipment_number=v["shipment"], status=v["status"], note=v["note"]
        )
        return Response(ShipmentStatusOutputSerializer(shipment).data)


class IsChannelOrStaffViewer(BasePermission):
    def has_permission(self, request, view):
        return getattr(request.user, "channel", None) is not None or bool(
            getattr(request.user, "is_staff", False)
        )


class OrderFulfillmentApi(APIView):
    """The order's fulfillment lines with their process plan (steps, statuses, dates)."""

    permission_classes = [IsChannelOrStaffViewer]

    @extend_schema(responses={200: OrderFulfillmentOutputSerializer, **ERRORS})
    def get(self, request, number: str):
        lines = order_fulfillment(viewer=request.user, number=number)
        return Response(OrderFulfillmentOutputSerializer({"number": number, "lines": lines}).data)


def _staff_label(request) -> str:
    return f"user:{request.user.get_username()}"


class StepActionApi(APIView):
    """Staff: retry a failed step (its process resumes) or skip it."""

    permission_classes = [IsStaff]

    @extend_schema(
        request=StepActionInputSerializer, responses={200: FulfillmentStepOutputSerializer, **ERRORS}
    )
    def post(self, request, step_id: int):
        data = StepActionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        action = step_retry if data.validated_data["action"] == "retry" else step_skip
        step = action(step_id=step_id, actor=_staff_label(request))
        step.refresh_from_db()
        return Response(FulfillmentStepOutputSerializer(step).data)


class ProcessCancelApi(APIView):
    """Staff: cancel a process (its steps are compensated, the fulfillment line is canceled)."""

    permission_classes = [IsStaff]

    @extend_schema(request=ProcessCancelInputSerializer, responses={204: None, **ERRORS})
    def post(self, request, process_id: int):
        data = ProcessCancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        process_cancel(
            process_id=process_id, actor=_staff_label(request), reason=data.validated_data["reason"]
        )
        return Response(status=204)


# --- jeopardy alerts ------------------------------------------------------------------------


class JeopardyAlertListApi(ListAPIView):
    """Jeopardy alerts, worst first: a channel key sees its own orders' alerts, staff all."""

    permission_classes = [IsChannelOrStaffViewer]
    serializer_class = JeopardyAlertOutputSerializer
    filterset_class = JeopardyAlertFilter

    def get_queryset(self):
        return alert_queryset(viewer=self.request.user)


def _alert_out(alert) -> Response:
    alert = alert_queryset(viewer=None, unscoped=True).get(pk=alert.pk)
    return Response(JeopardyAlertOutputSerializer(alert).data)


class JeopardyAlertAcknowledgeApi(APIView):
    """Someone has seen the alert (open -> acknowledged)."""

    permission_classes = [IsChannelOrStaffViewer]

    @extend_schema(request=None, responses={200: JeopardyAlertOutputSerializer, **ERRORS})
    def post(self, request, alert_id: int):
        return _alert_out(alert_acknowledge(alert_id=alert_id, actor=Actor.from_principal(request.user)))


class JeopardyAlertAssignApi(APIView):
    """Give the alert to a staff member (null: unassign)."""

    permission_classes = [IsChannelOrStaffViewer]

    @extend_schema(
        request=JeopardyAlertAssignInputSerializer, responses={200: JeopardyAlertOutputSerializer, **ERRORS}
    )
    def post(self, request, alert_id: int):
        data = JeopardyAlertAssignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        alert = alert_assign(
            alert_id=alert_id,
            actor=Actor.from_principal(request.user),
            assignee_id=data.validated_data["assignee"],
        )
        return _alert_out(alert)


class JeopardyAlertResolveApi(APIView):
    """Close the alert with a note saying what was done."""

    permission_classes = [IsChannelOrStaffViewer]

    @extend_schema(
        request=JeopardyAlertResolveInputSerializer, responses={200: JeopardyAlertOutputSerializer, **ERRORS}
    )
    def post(self, request, alert_id: int):
        data = JeopardyAlertResolveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        alert = alert_resolve(
            alert_id=alert_id, actor=Actor.from_principal(request.user), note=data.validated_data["note"]
        )
        return _alert_out(alert)
