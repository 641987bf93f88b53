from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

import oms.openapi  # noqa: F401  (registers the API key schemes with drf-spectacular)
from documents.urls import public_urlpatterns as public_document_links
from oms.kernel import twofactor
from oms.kernel.metrics import metrics_view
from oms.kernel.security import csp_report
from oms.kernel.views import favicon, healthz

_SWAGGER_CDN = "https://cdn.jsdelivr.net"

api_v1 = [
    path("", include("partners.api.urls")),
    path("", include("pricing.api.urls")),
    path("", include("inventory.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("fulfillment.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("reporting.api.urls")),
    path("", include("rebates.api.urls")),
    path("", include("rebates.api.claim_urls")),
    path("", include("documents.api.urls")),
    path("", include("reporting.reports.api_urls")),
    path("", include("customers.api.urls")),
]

urlpatterns = [
    # The staff UI lives at /; the console stays at /admin/ for policy screens and data repair.
    path("", include("reporting.urls")),
    path("orders/", include("orders.urls")),
    path("inventory/", include("inventory.urls")),
    path("fulfillment/", include("fulfillment.urls")),
    path("rebates/", include("rebates.urls")),
    path("crm/", include("customers.urls")),
    path("documents/", include("documents.urls")),
    path("d/", include(public_document_links)),
    path("billing/", include("billing.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/2fa/", twofactor.overview, name="2fa-overview"),
    path("accounts/2fa/setup/", twofactor.setup, name="2fa-setup"),
    path("accounts/2fa/verify/", twofactor.verify, name="2fa-verify"),
    path("accounts/2fa/recovery-codes", twofactor.recovery_codes, name="2fa-recovery-codes"),
    path("accounts/2fa/reset", twofactor.reset, name="2fa-reset"),
    path("accounts/2fa/passkeys/", include("django_otp_webauthn.urls", namespace="otp_webauthn")),
    path("csp-report", csp_report, name="csp-report"),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI comes from its CDN with an inline <style>: the one page whose policy is widened.
    path(
        "api/docs/",
        csp_update({"script-src": [_SWAGGER_CDN], "style-src": [_SWAGGER_CDN, "'unsafe-inline'"]})(
            SpectacularSwaggerView.as_view(url_name="schema")
        ),
        name="api-docs",
    ),
]
# A database that went away while middleware ran (e.g. a session save) is a 503, not a 500 page.
handler500 = "oms.kernel.views.server_error"

admin.site.site_header = "OMS console"
admin.site.site_title = "OMS console"
