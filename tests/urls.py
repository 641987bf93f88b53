from django.urls import include, path

from oms.urls import urlpatterns as oms_urlpatterns

urlpatterns = [*oms_urlpatterns, path("test/", include("tests.testapp.urls"))]
