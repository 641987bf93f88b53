from django.urls import path

from . import views

app_name = "rebates"

urlpatterns = [
    path("", views.checkbook_view, name="checkbook"),
    path("programs/<int:pk>/", views.program_view, name="program"),
    path("suppliers/<int:pk>/", views.supplier_view, name="supplier"),
    path("customers/<int:pk>/", views.customer_view, name="customer"),
    path("accruals/", views.accrual_list_view, name="accruals"),
    path("accruals/<int:pk>/", views.accrual_view, name="accrual"),
    path("claims/", views.claim_list_view, name="claims"),
    path("claims/generate", views.claims_generate_view, name="claims-generate"),
    path("claims/<int:pk>/", views.claim_view, name="claim"),
    path("claims/<int:pk>/document.csv", views.claim_document_csv, name="claim-csv"),
    path("claims/<int:pk>/document.pdf", views.claim_document_pdf, name="claim-pdf"),
    path("claims/<int:pk>/<slug:action>", views.claim_action_view, name="claim-action"),
]
