from django.urls import path

from ..promising.api import PromiseApi, PromiseChooseApi, PromiseOverrideApi
from .views import (
    JeopardyAlertAcknowledgeApi,
    JeopardyAlertAssignApi,
    JeopardyAlertListApi,
    JeopardyAlertResolveApi,
    OrderFulfillmentApi,
    ProcessCancelApi,
    ShipmentAdviceApi,
    ShipmentStatusApi,
    StepActionApi,
    WhatIfApi,
)

urlpatterns = [
    path("promise", PromiseApi.as_view(), name="promise-options"),
    path("promise/choose", PromiseChooseApi.as_view(), name="promise-choose"),
    path("fulfillment/shipment-advice", ShipmentAdviceApi.as_view(), name="fulfillment-shipment-advice"),
    path("fulfillment/shipment-status", ShipmentStatusApi.as_view(), name="fulfillment-shipment-status"),
    path("fulfillment/steps/<int:step_id>/actions", StepActionApi.as_view(), name="fulfillment-step-action"),
    path(
        "fulfillment/processes/<int:process_id>/cancel",
        ProcessCancelApi.as_view(),
        name="fulfillment-process-cancel",
    ),
    path("orders/<str:number>/fulfillment", OrderFulfillmentApi.as_view(), name="order-fulfillment"),
    path("jeopardy/alerts", JeopardyAlertListApi.as_view(), name="jeopardy-alert-list"),
    path(
        "jeopardy/alerts/<int:alert_id>/acknowledge",
        JeopardyAlertAcknowledgeApi.as_view(),
        name="jeopardy-alert-acknowledge",
    ),
    path(
        "jeopardy/alerts/<int:alert_id>/assign",
        JeopardyAlertAssignApi.as_view(),
        name="jeopardy-alert-assign",
    ),
    path(
        "jeopardy/alerts/<int:alert_id>/resolve",
        JeopardyAlertResolveApi.as_view(),
        name="jeopardy-alert-resolve",
    ),
    path(
        "orders/<str:number>/fulfillment/lines/<int:line_id>/promise",
        PromiseOverrideApi.as_view(),
        name="fulfillment-line-promise-override",
    ),
    path(
        "orders/<str:number>/fulfillment/lines/<int:line_id>/what-if",
        WhatIfApi.as_view(),
        name="fulfillment-line-whatif",
    ),
]
