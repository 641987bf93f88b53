from django.urls import path

from .views import ExceptionSummaryApi

urlpatterns = [
    path("exceptions/summary", ExceptionSummaryApi.as_view(), name="exception-summary"),
]
