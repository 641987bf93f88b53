"""Every list, in the API and the staff UI, filters through a django-filter FilterSet
(oms.kernel.filtering.StrictFilterSet): no hand-written list filtering, and the schema documents
each filter of each API list."""

from __future__ import annotations

import json

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.generics import ListAPIView

from customers.filters import CustomerFilter
from documents.filters import DocumentFilter, DocumentViewFilter
from fulfillment.filters import JeopardyAlertFilter
from inventory.filters import (
    MovementFilter,
    PurchaseOrderFilter,
    ReorderRuleFilter,
    StockPositionFilter,
    TransferFilter,
    WarehouseFilter,
)
from oms.kernel.filtering import StrictFilterSet
from orders.filters import OrderFilter
from partners.filters import ChannelFilter
from rebates.filters import AccrualFilter, ClaimFilter, ProgramFilter, SettlementFilter
from reporting.filters import BackorderQueueFilter, FailedStepFilter, HoldQueueFilter, UnscheduledLineFilter
from reporting.reports.filters import SalesFactFilter

# Every list endpoint and screen, by URL name, and the FilterSet it uses.
LISTS = {
    "v1:order-list": OrderFilter,
    "v1:channel-list": ChannelFilter,
    "v1:warehouse-list": WarehouseFilter,
    "v1:stock-position-list": StockPositionFilter,
    "v1:transfer-list": TransferFilter,
    "v1:reorder-rule-list": ReorderRuleFilter,
    "v1:purchase-order-list": PurchaseOrderFilter,
    "v1:jeopardy-alert-list": JeopardyAlertFilter,
    "v1:rebate-program-list": ProgramFilter,
    "v1:rebate-accrual-list": AccrualFilter,
    "ui:order-list": OrderFilter,
    "ui:customers": CustomerFilter,
    "inventory:stock": StockPositionFilter,
    "inventory:movements": MovementFilter,
    "inventory:purchase-orders": PurchaseOrderFilter,
    "v1:rebate-claim-list": ClaimFilter,
    "v1:rebate-settlement-list": SettlementFilter,
    "rebates:checkbook": ProgramFilter,
    "rebates:accruals": AccrualFilter,
    "rebates:claims": ClaimFilter,
    "ui:reports:ranking": SalesFactFilter,
    "ui:reports:orders": SalesFactFilter,
    "v1:document-list": DocumentFilter,
    "v1:document-views": DocumentViewFilter,
    "documents:list": DocumentFilter,
}
# The workbench queues that filter (reporting.workbench.PANELS), and their FilterSet.
QUEUES = {
    "holds": HoldQueueFilter,
    "credit": HoldQueueFilter,
    "compliance": HoldQueueFilter,
    "backorders": BackorderQueueFilter,
    "unscheduled": UnscheduledLineFilter,
    "steps": FailedStepFilter,
}


def _patterns(resolver=None, namespace: str = ""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", entry.callback


@pytest.mark.unit
def test_each_list_names_its_filterset():
    views = dict(_patterns())
    for name, filterset in LISTS.items():
        view = views[name]
        declared = getattr(getattr(view, "view_class", None), "filterset_class", None) or getattr(
            view, "filterset_class", None
        )
        assert declared is filterset, name
        assert issubclass(declared, StrictFilterSet), name


@pytest.mark.unit
def test_each_filtered_workbench_queue_uses_its_filterset():
    from reporting.workbench import PANELS

    for key, filterset in QUEUES.items():
        assert PANELS[key].filterset is filterset, key
        assert issubclass(filterset, StrictFilterSet)
        # Every queue filters by the same six things.
        assert {"customer", "product", "supplier", "warehouse", "channel", "process"} <= set(
            filterset.base_filters
        )


@pytest.mark.unit
def test_no_api_list_is_left_without_a_filterset():
    for name, view in _patterns():
        view_class = getattr(view, "view_class", None)
        if view_class is not None and issubclass(view_class, ListAPIView):
            assert name in LISTS, f"{name} is a list: give it a FilterSet and add it here"


@pytest.mark.django_db
@pytest.mark.integration
def test_the_schema_documents_every_filter_of_every_api_list(client):
    schema = json.loads(client.get("/api/schema/?format=json").content)
    paths = {
        "/api/v1/orders": OrderFilter,
        "/api/v1/channels/": ChannelFilter,
        "/api/v1/warehouses/": WarehouseFilter,
        "/api/v1/stock-positions/": StockPositionFilter,
        "/api/v1/transfers/": TransferFilter,
        "/api/v1/reorder-rules/": ReorderRuleFilter,
        "/api/v1/purchase-orders/": PurchaseOrderFilter,
        "/api/v1/jeopardy/alerts": JeopardyAlertFilter,
        "/api/v1/rebates/claims/": ClaimFilter,
        "/api/v1/rebates/settlements/": SettlementFilter,
        "/api/v1/documents/": DocumentFilter,
        "/api/v1/documents/{id}/views/": DocumentViewFilter,
    }
    for path, filterset in paths.items():
        documented = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
        assert set(filterset.base_filters) <= documented, path


@pytest.mark.django_db
@pytest.mark.integration
@pytest.mark.parametrize(
    "path, query, field",
    [
        ("/api/v1/channels/", "type=nonsense", "type"),
        ("/api/v1/warehouses/", "active=maybe", "active"),
        ("/api/v1/stock-positions/", "warehouse=nowhere", "warehouse"),
        ("/api/v1/transfers/", "status=", "status"),
        ("/api/v1/reorder-rules/", "warehouse=nowhere", "warehouse"),
        ("/api/v1/purchase-orders/", "supplier=nobody", "supplier"),
        ("/api/v1/orders", "created_from=2026-02-01&created_to=2026-01-01", "created_to"),
        ("/api/v1/orders", "channel=nowhere", "channel"),
        ("/api/v1/rebates/claims/", "status=lost", "status"),
        ("/api/v1/rebates/settlements/", "method=barter", "method"),
    ],
)
def test_an_invalid_filter_value_is_a_400_naming_the_parameter(admin_client, path, query, field):
    response = admin_client.get(f"{path}?{query}")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_failed" and field in body["fields"], body
