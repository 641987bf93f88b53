from django.urls import path

from . import views

app_name = "customers"

urlpatterns = [
    path("leads/", views.lead_list, name="leads"),
    path("leads/new", views.lead_new, name="lead-new"),
    path("leads/pipeline", views.lead_pipeline, name="pipeline"),
    path("leads/<int:pk>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:pk>/stage", views.lead_stage, name="lead-stage"),
    path("leads/<int:pk>/convert", views.lead_convert, name="lead-convert"),
    path("leads/<int:pk>/interactions", views.lead_interaction, name="lead-interaction"),
    path("customers/<int:pk>/interactions", views.customer_interaction, name="customer-interaction"),
    path("customers/<int:pk>/email", views.customer_email, name="customer-email"),
    path("follow-ups/", views.follow_ups, name="follow-ups"),
    path("follow-ups/<int:pk>/done", views.follow_up_done, name="follow-up-done"),
]
