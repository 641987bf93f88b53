from django.urls import path

from . import views

urlpatterns = [
    path("rebates/programs/", views.RebateProgramListApi.as_view(), name="rebate-program-list"),
    path("rebates/programs/<int:pk>/", views.RebateProgramDetailApi.as_view(), name="rebate-program-detail"),
    path("rebates/accruals/", views.AccrualListApi.as_view(), name="rebate-accrual-list"),
]
