from django.urls import path

from .views import (
    OrderApproveApi,
    OrderBySourceApi,
    OrderCancelApi,
    OrderDetailApi,
    OrderHoldApplyApi,
    OrderHoldReleaseApi,
    OrderListCreateApi,
    OrderRejectApi,
    QuoteApi,
)

urlpatterns = [
    path("orders", OrderListCreateApi.as_view(), name="order-list"),
    path("orders/by-source/<str:source_order_id>", OrderBySourceApi.as_view(), name="order-by-source"),
    path("orders/<str:number>", OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<str:number>/cancel", OrderCancelApi.as_view(), name="order-cancel"),
    path("orders/<str:number>/holds", OrderHoldApplyApi.as_view(), name="order-hold-apply"),
    path(
        "orders/<str:number>/holds/<int:hold_id>/release",
        OrderHoldReleaseApi.as_view(),
        name="order-hold-release",
    ),
    path("orders/<str:number>/approve", OrderApproveApi.as_view(), name="order-approve"),
    path("orders/<str:number>/reject", OrderRejectApi.as_view(), name="order-reject"),
    path("quotes", QuoteApi.as_view(), name="quote-create"),
]
