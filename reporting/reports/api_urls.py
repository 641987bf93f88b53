from django.urls import path

from . import api

urlpatterns = [
    path("reports/rankings", api.RankingApi.as_view(), name="report-ranking"),
    path("reports/operational/<slug:report>", api.OperationalReportApi.as_view(), name="report-operational"),
]
