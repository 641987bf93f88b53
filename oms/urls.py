from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

import oms.openapi  # noqa: F401  (registers the API key schemes with drf-spectacular)
from oms.kernel.metrics import metrics_view
from oms.kernel.views import favicon, healthz

api_v1 = [
    path("", include("partners.api.urls")),
    path("", include("pricing.api.urls")),
    path("", include("inventory.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("fulfillment.api.urls")),
]

urlpatterns = [
    # The staff UI lives at /; the console stays at /admin/ for policy screens and data repair.
    path("", include("reporting.urls")),
    path("orders/", include("orders.urls")),
    path("inventory/", include("inventory.urls")),
    path("fulfillment/", include("fulfillment.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
# A database that went away while middleware ran (e.g. a session save) is a 503, not a 500 page.
handler500 = "oms.kernel.views.server_error"

admin.site.site_header = "OMS console"
admin.site.site_title = "OMS console"
