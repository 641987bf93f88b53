from django.urls import path

from .views import PriceApi

urlpatterns = [
    path("prices", PriceApi.as_view(), name="prices"),
]
