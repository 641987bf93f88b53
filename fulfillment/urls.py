from django.urls import path

from . import views

app_name = "fulfillment"

urlpatterns = [
    path("shipments/", views.shipment_list, name="shipments"),
    path("shipments/<str:number>/", views.shipment_confirm_view, name="shipment-confirm"),
]
