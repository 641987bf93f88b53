from django.urls import include, path

from . import views

app_name = "ui"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("workbench/", views.workbench, name="workbench"),
    path("workbench/<slug:panel>/", views.workbench, name="workbench-panel"),
    path("workbench/<slug:panel>/action", views.workbench_action, name="workbench-action"),
    path("orders/", views.order_list, name="order-list"),
    path("orders/export.csv", views.order_export, name="order-export"),
    path("orders/bulk", views.order_bulk, name="order-bulk"),
    path("orders/saved", views.saved_search_create, name="saved-search-create"),
    path("orders/saved/<int:pk>/delete", views.saved_search_remove, name="saved-search-delete"),
    path("orders/<str:number>/execution", views.order_execution, name="order-execution"),
    path("orders/<str:number>/steps/<int:step_id>/retry", views.order_step_retry, name="order-step-retry"),
    path("customers/", views.customer_list, name="customers"),
    path("customers/<int:pk>/", views.customer_detail, name="customer-detail"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("reports/", include("reporting.reports.urls")),
]
