from django.urls import path, re_path

from . import views

urlpatterns = [
    path("availability", views.AvailabilityApi.as_view(), name="availability"),
    path("availability/batch", views.AvailabilityBatchApi.as_view(), name="availability-batch"),
    path("warehouses/", views.WarehouseListApi.as_view(), name="warehouse-list"),
    path("stock-positions/", views.StockPositionListApi.as_view(), name="stock-position-list"),
    path("stock-adjustments/", views.StockAdjustmentApi.as_view(), name="stock-adjustment"),
    path("transfers/", views.TransferListApi.as_view(), name="transfer-list"),
    re_path(
        r"^transfers/(?P<pk>[0-9]+)/(?P<action>ship|receive|cancel)/$",
        views.TransferActionApi.as_view(),
        name="transfer-action",
    ),
    path("reorder-rules/", views.ReorderRuleListApi.as_view(), name="reorder-rule-list"),
    path("purchase-orders/", views.PurchaseOrderListApi.as_view(), name="purchase-order-list"),
    path(
        "purchase-orders/<int:pk>/receive/",
        views.PurchaseOrderReceiveApi.as_view(),
        name="purchase-order-receive",
    ),
    re_path(
        r"^purchase-orders/(?P<pk>[0-9]+)/(?P<action>approve|send|cancel|close)/$",
        views.PurchaseOrderActionApi.as_view(),
        name="purchase-order-action",
    ),
]
