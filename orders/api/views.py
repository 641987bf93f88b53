"""Thin views over orders' services and selectors. POST /orders is idempotent per channel."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.kernel.api.errors import ErrorSerializer
from oms.kernel.api.pagination import StrictCursorPagination, page_size_parameter
from oms.kernel.api.schema import WRITE_UNAVAILABLE
from oms.kernel.api.throttling import CounterRateThrottle
from oms.kernel.exceptions import NotFound, PermissionDenied, ValidationFailed
from partners.models import Channel

from ..actors import Actor
from ..filters import OrderFilter
from ..models import IdempotencyKey, OrderHold
from ..quotes import quote_build
from ..selectors import order_by_source, order_get, order_list
from ..services import (
    hold_apply,
    hold_release,
    idempotency_abandon,
    idempotency_claim,
    idempotency_complete,
    order_approve,
    order_cancel,
    order_reject,
    order_submit,
    request_fingerprint,
)
from ..services.capture import SubmitResult
from ..services.idempotency import KEY_PATTERN, MAX_KEY_LENGTH
from .serializers import (
    MAX_REVISION,
    OrderApproveInputSerializer,
    OrderBySourceQuerySerializer,
    OrderCreatedSerializer,
    OrderCreateInputSerializer,
    OrderHoldInputSerializer,
    OrderHoldOutputSerializer,
    OrderOutputSerializer,
    OrderPageSerializer,
    OrderReasonInputSerializer,
    OrderRevisionQuerySerializer,
    QuoteInputSerializer,
    QuoteOutputSerializer,
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    type={"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN},
    location=OpenApiParameter.HEADER,
    required=False,
    description="A unique string per intended order (e.g. a UUID), scoped to the caller's channel. "
    "Resending the same key with the same body replays the first response byte for byte; "
    "a different body gets 422; a duplicate while the first is running gets 409 `in_flight`. "
    "Keys expire after 24 hours.",
)
ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Bad input (field-level messages in `fields`)."),
    401: OpenApiResponse(ErrorSerializer, description="No key, or a bad one."),
    403: OpenApiResponse(ErrorSerializer, description="This kind of caller may not do this."),
    404: OpenApiResponse(ErrorSerializer, description="Absent, or not yours."),
    429: OpenApiResponse(ErrorSerializer, description="Throttled; see Retry-After."),
}
WRITE_ERRORS = {
    **ERRORS,
    409: OpenApiResponse(
        ErrorSerializer,
        description="`illegal_transition`, `stale_revision`, `in_flight`, `insufficient_stock`, `conflict`.",
    ),
    413: OpenApiResponse(ErrorSerializer, description="Body over the size limit."),
    415: OpenApiResponse(ErrorSerializer, description="Send `Content-Type: application/json`."),
    503: OpenApiResponse(ErrorSerializer, description=WRITE_UNAVAILABLE),
}
ORDER_EXAMPLE = OpenApiExample(
    "A storefront order",
    request_only=True,
    value={
        "source_order_id": "WEB-1001",
        "revision": 1,
        "customer": {"email": "ana@mail.example", "name": "Ana Lima"},
        "currency": "USD",
        "ship_to": {"name": "Ana Lima", "line1": "1 Main St", "city": "Boston", "region": "MA",
                    "postcode": "02110", "country": "US"},
        "lines": [{"source_line_id": "1", "sku": "NOR-POW-1010", "quantity": "2"}],
    },
)  # fmt: skip
ORDER_RESPONSE_EXAMPLE = OpenApiExample(
    "Captured",
    response_only=True,
    status_codes=["201"],
    value={
        "number": "SO-100042", "revision": 1, "is_current": True, "channel": "web",
        "source_order_id": "WEB-1001", "status": "open", "currency": "USD", "total": "200.0000",
        "lines": [{"line_number": 1, "source_line_id": "1", "sku": "NOR-POW-1010", "quantity": "2.0000",
                   "status": "open", "unit_net_price": "100.0000", "line_total": "200.0000"}],
        "holds": [],
    },
)  # fmt: skip


class KeyRateThrottle(CounterRateThrottle):
    """Per API key (a channel key, or a staff user): one busy storefront cannot starve the rest."""

    scope = "orders"

    def get_cache_key(self, request, view):
        # The key's public prefix (random, never reused) rather than its row id, so counters
        # never carry over to another key that happens to get the same id.
        prefix = getattr(request.auth, "prefix", None)
        if prefix:
            ident = f"key:{prefix}"
        else:
            ident = f"user:{getattr(request.user, 'pk', None) or self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class IsChannelOrStaff(BasePermission):
    message = "Orders are for channel keys and staff."

    def has_permission(self, request, view):
        user = request.user
        return getattr(user, "channel", None) is not None or bool(getattr(user, "is_staff", False))


class OrderCursorPagination(StrictCursorPagination):
    ordering = "-id"
    page_size = 50
    max_page_size = 200


def _page_size_parameter(pagination) -> dict:
    spec = page_size_parameter(
        param=pagination.page_size_query_param, default=pagination.page_size, maximum=pagination.max_page_size
    )
    return {"name": spec["name"], "type": spec["schema"], "description": spec["description"]}


def _channel_for(request, code: str | None) -> Channel:
    """A channel key acts for its own channel; staff name the channel."""
    own = getattr(request.user, "channel", None)
    if own is not None:
        if code and code != own.code:
            raise ValidationFailed(
                "A channel key acts only for its own channel.", fields={"channel": ["Not yours."]}
            )
        return own
    if not code:
        raise ValidationFailed("Name the order's channel.", fields={"channel": ["Required for staff."]})
    channel = Channel.objects.filter(code=code).first()
    if channel is None:
        raise ValidationFailed("Unknown channel.", fields={"channel": [f"No channel '{code}'."]})
    return channel


class _OrdersApi(APIView):
    permission_classes = [IsChannelOrStaff]
    throttle_classes = [KeyRateThrottle]
    # Orders speak JSON only; a form body would also be read (and consumed) by the CSRF check.
    parser_classes = [JSONParser]


class OrderListCreateApi(_OrdersApi, GenericAPIView):
    filterset_class = OrderFilter

    def get_queryset(self):
        return order_list(viewer=self.request.user)

    @extend_schema(
        operation_id="orders_list",
        parameters=[
            OpenApiParameter(
                "cursor",
                {"type": "string", "minLength": 1},
                description="The opaque cursor from `next`/`previous`.",
            ),
            OpenApiParameter(**_page_size_parameter(OrderCursorPagination)),
        ],
        responses={200: OrderPageSerializer, **ERRORS},
        description="Orders visible to the caller (a channel key: its own channel's), newest first, "
        "cursor-paginated (`?cursor=`). Filters (`OrderFilter`): an invalid or blank value is a 400.",
    )
    def get(self, request):
        qs = self.filter_queryset(self.get_queryset())
        paginator = OrderCursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(OrderOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="orders_create",
        request=OrderCreateInputSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: OrderCreatedSerializer,
            **WRITE_ERRORS,
            409: OpenApiResponse(
                ErrorSerializer,
                description="`stale_revision`, `in_flight`, `insufficient_stock`, `conflict`; "
                "`change_too_costly`: the cost-of-change policy refuses this revision, and the answer "
                "carries its `change_cost` (same shape as in the 201).",
            ),
            422: OpenApiResponse(
                ErrorSerializer,
                description="`idempotency_key_reused` (same key, different body) or `compliance_rejected`.",
            ),
        },
        examples=[ORDER_EXAMPLE, ORDER_RESPONSE_EXAMPLE],
        description="Capture an order (or a higher revision of it) through the full pipeline: defaults, "
        "validation, pricing, credit and compliance checks, approval rules, reservation. A revision "
        "answers with its `change_cost`: what it undoes downstream at the current state of "
        "fulfillment, priced by the admin's cost rules; over the policy's threshold the revision "
        "waits in approval (`pending_approval`, the cost in `approval_reasons`).",
    )
    def post(self, request):
        actor = Actor.from_principal(request.user)
        key = request.headers.get("Idempotency-Key")
        if (request.content_type or "").split(";")[0].strip() != "application/json":
            # Refuse before fingerprinting: a multipart stream is gone once the CSRF check parsed it.
            raise UnsupportedMediaType(request.content_type)
        if key is None:
            return self._create(request, actor)
        claim = idempotency_claim(
            principal=actor.idempotency_scope,
            key=key,
            request_hash=request_fingerprint(method=request.method, path=request.path, body=request.body),
        )
        if claim.replay is not None:
            stored = claim.replay
            response = HttpResponse(
                bytes(stored.response_body or b""),
                status=stored.response_status,
                content_type=stored.response_content_type,
            )
            response["Idempotent-Replayed"] = "true"
            return response
        try:
            try:
                # A capture stores its answer inside the order's own transaction.
                response = self._create(request, actor, claim=claim.claimed)
            except Exception as exc:
                response = self._rendered(request, self.handle_exception(exc))  # re-raises non-API errors
                idempotency_complete(
                    claim=claim.claimed,
                    status=response.status_code,
                    body=response.content,
                    content_type=response["Content-Type"],
                )
        except BaseException:
            idempotency_abandon(claim=claim.claimed)
            raise
        out = HttpResponse(
            response.content, status=response.status_code, content_type=response["Content-Type"]
        )
        for header in ("Retry-After", "WWW-Authenticate"):
            if header in response:
                out[header] = response[header]
        return out

    def _rendered(self, request, response):
        response = self.finalize_response(request, response)
        response.render()
        return response

    def _create(self, request, actor: Actor, claim: IdempotencyKey | None = None):
        data = OrderCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        channel = _channel_for(request, data.validated_data.get("channel"))
        answer = []

        def store_answer(result: SubmitResult) -> None:
            response = self._rendered(request, self._created(request, result))
            idempotency_complete(
                claim=claim, status=response.status_code, body=response.content,
                content_type=response["Content-Type"],
            )  # fmt: skip
            answer.append(response)

        result = order_submit(
            channel=channel,
            actor=actor,
            data=data.to_order_input(),
            before_commit=store_answer if claim is not None else None,
        )
        # The last answer: an attempt that was rolled back and run again stored one too.
        return answer[-1] if answer else self._created(request, result)

    def _created(self, request, result: SubmitResult) -> Response:
        if getattr(request.user, "channel", None) is not None:
            # A channel key sees its own channel's orders, and the service hands back the order
            # with its lines and holds as stored: no re-read.
            order = result.order
        else:  # staff: what they may see depends on their roles
            order = order_get(viewer=request.user, number=result.order.number)
        order.change_cost = result.change_cost
        return Response(OrderCreatedSerializer(order).data, status=201)


class OrderDetailApi(_OrdersApi):
    @extend_schema(
        operation_id="orders_retrieve",
        parameters=[
            OpenApiParameter(
                "revision",
                {"type": "integer", "minimum": 1, "maximum": MAX_REVISION},
                description="A superseded revision (default: the current one).",
            )
        ],
        responses={200: OrderOutputSerializer, **ERRORS},
    )
    def get(self, request, number: str):
        query = OrderRevisionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rev = query.validated_data.get("revision")
        return Response(
            OrderOutputSerializer(order_get(viewer=request.user, number=number, revision=rev)).data
        )


class OrderBySourceApi(_OrdersApi):
    @extend_schema(
        operation_id="orders_by_source",
        parameters=[OrderBySourceQuerySerializer],
        responses={200: OrderOutputSerializer, **ERRORS},
        description="The latest revision of a source system's order.",
    )
    def get(self, request, source_order_id: str):
        query = OrderBySourceQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        order = order_by_source(
            viewer=request.user,
            source_order_id=source_order_id,
            channel_code=query.validated_data.get("channel", ""),
        )
        return Response(OrderOutputSerializer(order).data)


def _visible(request, number: str):
    return order_get(viewer=request.user, number=number)


class OrderCancelApi(_OrdersApi):
    @extend_schema(
        operation_id="orders_cancel",
        request=OrderReasonInputSerializer,
        responses={200: OrderOutputSerializer, **WRITE_ERRORS},
    )
    def post(self, request, number: str):
        order = _visible(request, number)
        data = OrderReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order_cancel(order_id=order.pk, actor=Actor.from_principal(request.user), **data.validated_data)
        return Response(OrderOutputSerializer(_visible(request, number)).data)


class OrderHoldApplyApi(_OrdersApi):
    @extend_schema(
        operation_id="orders_hold_apply",
        request=OrderHoldInputSerializer,
        responses={201: OrderHoldOutputSerializer, **WRITE_ERRORS},
    )
    def post(self, request, number: str):
        order = _visible(request, number)
        data = OrderHoldInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        line_id = None
        if data.validated_data.get("line_number"):
            line = next(
                (ln for ln in order.lines.all() if ln.line_number == data.validated_data["line_number"]), None
            )
            if line is None:  # the order has no such line: like any sub-resource that is not there
                raise NotFound("No such line on this order.", fields={"line_number": ["Unknown line."]})
            line_id = line.pk
        hold = hold_apply(
            order_id=order.pk,
            actor=Actor.from_principal(request.user),
            code=data.validated_data["code"],
            reason=data.validated_data["reason"],
            line_id=line_id,
        )
        return Response(OrderHoldOutputSerializer(hold).data, status=201)


class OrderHoldReleaseApi(_OrdersApi):
    @extend_schema(
        operation_id="orders_hold_release",
        request=OrderReasonInputSerializer,
        responses={200: OrderHoldOutputSerializer, **WRITE_ERRORS},
    )
    def post(self, request, number: str, hold_id: int):
        order = _visible(request, number)
        if not OrderHold.objects.filter(pk=hold_id, order=order).exists():
            raise NotFound("No such hold.")
        data = OrderReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        hold = hold_release(hold_id=hold_id, actor=Actor.from_principal(request.user), **data.validated_data)
        return Response(OrderHoldOutputSerializer(hold).data)


class _ApproverApi(_OrdersApi):
    def _staff_actor(self, request) -> Actor:
        if getattr(request.user, "channel", None) is not None:
            raise PermissionDenied("Only an approver may decide on an order.")
        return Actor.from_principal(request.user)


class OrderApproveApi(_ApproverApi):
    @extend_schema(
        operation_id="orders_approve",
        request=OrderApproveInputSerializer,
        responses={200: OrderOutputSerializer, **WRITE_ERRORS},
        description="Approver role only: PENDING_APPROVAL -> OPEN.",
    )
    def post(self, request, number: str):
        actor = self._staff_actor(request)
        order = _visible(request, number)
        data = OrderApproveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order_approve(order_id=order.pk, actor=actor, **data.validated_data)
        return Response(OrderOutputSerializer(_visible(request, number)).data)


class OrderRejectApi(_ApproverApi):
    @extend_schema(
        operation_id="orders_reject",
        request=OrderReasonInputSerializer,
        responses={200: OrderOutputSerializer, **WRITE_ERRORS},
        description="Approver role only: PENDING_APPROVAL -> CANCELED, with a reason.",
    )
    def post(self, request, number: str):
        actor = self._staff_actor(request)
        order = _visible(request, number)
        data = OrderReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order_reject(order_id=order.pk, actor=actor, **data.validated_data)
        return Response(OrderOutputSerializer(_visible(request, number)).data)


class QuoteApi(_OrdersApi):
    @extend_schema(
        operation_id="quotes_create",
        request=QuoteInputSerializer,
        responses={200: QuoteOutputSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Before checkout",
                request_only=True,
                value={
                    "currency": "USD",
                    "ship_to": {"country": "US", "region": "MA"},
                    "lines": [{"sku": "NOR-POW-1010", "quantity": "2"}],
                },
            )
        ],
        description="Price breakdown and availability per line (by warehouse, earliest date); "
        "reserves nothing.",
    )
    def post(self, request):
        data = QuoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        channel = _channel_for(request, data.validated_data.get("channel"))
        return Response(QuoteOutputSerializer(quote_build(channel=channel, data=data.validated_data)).data)
