"""What a report request may ask for, checked once for the API, the staff screens and the
exports: the FilterSet's filters plus the ranking's own parameters. Bad input is a 400 naming the
field (ValidationFailed), never a 500."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from oms.kernel.api.inputs import StrictQuerySerializer
from oms.kernel.exceptions import ValidationFailed
from oms.kernel.money import validate_currency

from .filters import SalesFactFilter
from .models import SalesFact
from .selectors import DIMENSIONS, MAX_LIMIT, METRICS, ReportFilters

DEFAULT_DAYS = 30


class RankingQuerySerializer(StrictQuerySerializer):
    dimension = serializers.ChoiceField(choices=sorted(DIMENSIONS), default="product")
    metric = serializers.ChoiceField(choices=list(METRICS), default="revenue")
    direction = serializers.ChoiceField(choices=["top", "bottom"], default="top")
    currency = serializers.CharField(
        max_length=3, required=False, help_text="The report currency (ISO 4217); default OMS_REPORT_CURRENCY."
    )
    page = serializers.IntegerField(min_value=1, max_value=100_000, default=1)
    page_size = serializers.IntegerField(
        min_value=1, max_value=MAX_LIMIT, default=10, help_text=f"N of the top/bottom N, at most {MAX_LIMIT}."
    )
    sort = serializers.ChoiceField(
        choices=["rank", "key"], default="rank", help_text="key: in key order (dates chronologically)."
    )


# Filters shared with SalesFactFilter, documented in the schema beside the serializer's.
FILTER_PARAMETERS = ["date_from", "date_to", "channel", "warehouse", "status", "customer_group"]


@dataclass(frozen=True)
class RankingRequest:
    filters: ReportFilters
    dimension: str
    metric: str
    direction: str
    page: int
    page_size: int
    sort: str

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def report_filters(query, request=None) -> ReportFilters:
    """The filters of a report request; raises ValidationFailed naming each bad field."""
    filterset = SalesFactFilter(query, queryset=SalesFact.objects.none(), request=request)
    errors: dict[str, list[str]] = {}
    if not filterset.is_valid():
        errors.update({k: [str(m) for m in v] for k, v in filterset.form.errors.items()})
    currency = query.get("currency") or settings.OMS_REPORT_CURRENCY
    try:
        currency = validate_currency(currency.strip().upper())
    except ValidationFailed:
        errors["currency"] = [f"Unknown currency '{currency}'."]
    if errors:
        raise ValidationFailed("The report request is not valid.", fields=errors)
    data = filterset.form.cleaned_data
    today = timezone.localdate()
    date_to = data.get("date_to") or today
    date_from = data.get("date_from") or (date_to - timedelta(days=DEFAULT_DAYS - 1))
    if date_from > date_to:
        raise ValidationFailed("The report request is not valid.", fields={"date_from": ["After date_to."]})
    return ReportFilters(
        date_from=date_from,
        date_to=date_to,
        currency=currency,
        channel=data["channel"].code if data.get("channel") else "",
        warehouse=data["warehouse"].code if data.get("warehouse") else "",
        status=tuple(data.get("status") or ()),
        customer_group=data.get("customer_group") or "",
    )


def ranking_request(query, request=None) -> RankingRequest:
    params = RankingQuerySerializer(data=query)
    errors: dict[str, list[str]] = {}
    if not params.is_valid():
        errors.update({k: [str(m) for m in v] for k, v in params.errors.items()})
    try:
        filters = report_filters(query, request)
    except ValidationFailed as exc:
        errors.update(exc.fields or {})
        filters = None
    if errors:
        raise ValidationFailed("The report request is not valid.", fields=errors)
    v = params.validated_data
    return RankingRequest(
        filters=filters,
        dimension=v["dimension"],
        metric=v["metric"],
        direction=v["direction"],
        page=v["page"],
        page_size=v["page_size"],
        sort=v["sort"],
    )
