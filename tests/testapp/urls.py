from django.urls import path

from .views import enqueue, publish

urlpatterns = [path("publish", publish), path("enqueue", enqueue)]
