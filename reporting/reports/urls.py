from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("rankings/", views.ranking_view, name="ranking"),
    path("rankings/orders/", views.ranking_orders_view, name="orders"),
    path("rankings/export.csv", views.export_csv, name="export-csv"),
    path("rankings/export.xlsx", views.export_xlsx, name="export-xlsx"),
    path("rankings/schedule", views.schedule_create, name="schedule"),
    path("operational/<slug:report>/", views.operational_view, name="operational"),
]
