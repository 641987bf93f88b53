from django.urls import path

from . import views as v

urlpatterns = [
    path("documents/", v.DocumentListApi.as_view(), name="document-list"),
    path("documents/<int:pk>/", v.DocumentDetailApi.as_view(), name="document-detail"),
    path("documents/<int:pk>/file/", v.DocumentFileApi.as_view(), name="document-file"),
    path("documents/<int:pk>/views/", v.DocumentViewLogApi.as_view(), name="document-views"),
]
