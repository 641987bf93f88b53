from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.kernel.api.errors import ErrorSerializer
from oms.kernel.exceptions import ValidationFailed
from partners.authentication import ChannelPrincipal

from ..engine import LineRequest, ManualAdjustment, PriceRequest, ShipTo
from ..services import price_quote
from .serializers import PriceRequestInput, PriceResultOutput


class PriceApi(APIView):
    """Price an order (nothing is reserved or written; coupons are validated, not redeemed)."""

    @extend_schema(
        request=PriceRequestInput,
        responses={200: PriceResultOutput, 400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer},
    )
    def post(self, request):
        user = request.user
        is_channel = isinstance(user, ChannelPrincipal)
        if not is_channel and not getattr(user, "is_staff", False):
            raise PermissionDenied("Pricing is for channel keys and staff.")
        serializer = PriceRequestInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        fields: dict[str, list[str]] = {}
        channel = data.get("channel")
        if is_channel:
            if channel and channel != user.channel.code:
                fields["channel"] = ["A channel key prices for its own channel only."]
            channel = user.channel.code
        lines = []
        for i, line in enumerate(data["lines"]):
            adj = line.get("manual_adjustment")
            if adj and is_channel:
                fields[f"lines[{i}].manual_adjustment"] = ["Only staff may adjust prices."]
            lines.append(
                LineRequest(
                    sku=line["sku"],
                    quantity=line["quantity"],
                    uom=line.get("uom") or None,
                    manual_adjustment=ManualAdjustment(adj["kind"], adj["value"], adj["reason_code"])
                    if adj
                    else None,
                    source_unit_price=line.get("source_unit_price"),
                )
            )
        if fields:
            raise ValidationFailed("Some fields are not valid.", fields=fields)
        ship = data.get("ship_to")
        result = price_quote(
            PriceRequest(
                currency=data["currency"],
                lines=tuple(lines),
                customer_account=data.get("customer") or None,
                channel_code=channel or None,
                pricing_date=data.get("pricing_date"),
                ship_to=ShipTo(ship["country"], ship.get("region", ""), ship.get("postcode", ""))
                if ship
                else None,
                ship_method=data.get("ship_method") or None,
                coupon_codes=tuple(data.get("coupon_codes") or ()),
            ),
            explain=data["explain"],
        )
        return Response(result.to_dict())
