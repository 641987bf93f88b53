from django.urls import path

from . import views

urlpatterns = [
    path("leads", views.LeadListCreateApi.as_view(), name="leads"),
]
