from django.urls import include, path

from . import views, workbench

app_name = "ui"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("workbench/", workbench.workbench, name="workbench"),
    path("workbench/counts", workbench.workbench_counts, name="workbench-counts"),
    path("workbench/orders/<str:number>/timeline", workbench.workbench_timeline, name="workbench-timeline"),
    path("workbench/<slug:panel>/", workbench.workbench, name="workbench-panel"),
    path("workbench/<slug:panel>/action", workbench.workbench_action, name="workbench-action"),
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
