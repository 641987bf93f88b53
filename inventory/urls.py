from django.urls import path

from . import views

app_name = "inventory"

urlpatterns = [
    path("", views.stock, name="stock"),
    path("movements/", views.movements, name="movements"),
    path("adjust", views.adjust, name="adjust"),
    path("transfers/", views.transfers, name="transfers"),
    path("transfers/<int:pk>/<slug:action>", views.transfer_action, name="transfer-action"),
    path("reorder/", views.reorder, name="reorder"),
    path("reorder/run", views.reorder_run, name="reorder-run"),
    path("purchase-orders/", views.purchase_orders, name="purchase-orders"),
    path("purchase-orders/<int:pk>/", views.purchase_order_detail, name="purchase-order"),
    path(
        "purchase-orders/<int:pk>/receive", views.purchase_order_receive_view, name="purchase-order-receive"
    ),
    path("purchase-orders/<int:pk>/<slug:action>", views.purchase_order_action, name="purchase-order-action"),
]
