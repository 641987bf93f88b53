from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("receivables/", views.aging_view, name="aging"),
    path("statements/", views.statements, name="statements"),
    path("statements/<int:pk>/", views.statement, name="statement"),
    path("statement-lines/<int:pk>/<slug:action>", views.statement_line_action, name="statement-line-action"),
    path("orders/<str:number>/payments", views.order_payments, name="order-payments"),
]
