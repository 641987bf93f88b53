from django.urls import include, path

from oms.urls import handler500
from oms.urls import urlpatterns as oms_urlpatterns

urlpatterns = [*oms_urlpatterns, path("test/", include("tests.testapp.urls"))]
__all__ = ["handler500", "urlpatterns"]
