from django.urls import path

from . import views

app_name = "fulfillment"

urlpatterns = [
    path("shipments/", views.shipment_list, name="shipments"),
    path("shipments/<str:number>/", views.shipment_confirm_view, name="shipment-confirm"),
    path("lines/<int:line_id>/what-if", views.line_whatif, name="line-whatif"),
    path("lines/<int:line_id>/what-if/apply", views.line_whatif_apply, name="line-whatif-apply"),
    path("orders/<str:number>/what-if", views.order_whatif, name="order-whatif"),
]
