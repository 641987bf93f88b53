"""One settings file, driven by environment variables.

Defaults run on a bare machine: SQLite (WAL, immediate transactions, busy timeout) and kombu's
filesystem transport as the Celery broker, so web, worker and beat run as separate processes
without any server. Set DATABASE_URL / REDIS_URL for PostgreSQL and Redis.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ

from oms.kernel import config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("OMS_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = config.Env()  # a malformed value raises ConfigError naming its variable (oms/kernel/config.py)
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
_DEV_SECRET = "dev-only-insecure-secret-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"  # noqa: S105 - DEBUG only
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise config.ConfigError("SECRET_KEY", None, "must be set when DEBUG is off (production)")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_TZ = True
USE_I18N = True
LANGUAGE_CODE = "en-us"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_prometheus",
    "import_export",
    # Security (docs/security.md): login lockout, two-factor sign-in, content security policy.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "csp",
    "oms.kernel",
    "partners",
    "documents",
    "catalog",
    "customers",
    "pricing",
    "inventory",
    "orders",
    "billing",
    "fulfillment",
    "rebates",
    "reporting",
    "demo",  # demo data (seed_demo): the top layer, it may use every app
    *env.list("OMS_EXTRA_APPS", default=[]),
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "oms.kernel.middleware.CorrelationIdMiddleware",
    "oms.kernel.middleware.ReferenceDataScopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "oms.kernel.security.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "oms.kernel.middleware.DatabaseUnavailableMiddleware",
    "oms.kernel.middleware.ApiNotFoundMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "oms.kernel.twofactor.SecondFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = env.str("OMS_ROOT_URLCONF", default="oms.urls")
WSGI_APPLICATION = "oms.wsgi.application"
ASGI_APPLICATION = "oms.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# An empty DATABASE_URL counts as unset: the zero-setup SQLite file.
DATABASES = {
    "default": config.database_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'oms.sqlite3'}"
    )
}
_db = DATABASES["default"]
if _db["ENGINE"].endswith("sqlite3"):
    # Web, worker and beat write at once: WAL lets readers run beside the writer, IMMEDIATE takes
    # the write lock at BEGIN (no lock-upgrade deadlocks), and the timeout waits instead of failing.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
    }
else:
    _db["ENGINE"] = "django_prometheus.db.backends.postgresql"
    _db["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    # After a PostgreSQL restart pooled connections are dead; check them before reuse.
    _db["CONN_HEALTH_CHECKS"] = True
    _db.setdefault("OPTIONS", {}).update({"connect_timeout": env.int("DB_CONNECT_TIMEOUT", default=5)})
_db["ATOMIC_REQUESTS"] = False  # services own their transactions
# Reports read from a replica when one is configured (reporting.reports.router); writes never go there.
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **_db,
        **config.database_config(env.str("DATABASE_REPLICA_URL"), variable="DATABASE_REPLICA_URL"),
        "ENGINE": _db["ENGINE"],
    }
OMS_REPORTS_DATABASE = "replica" if "replica" in DATABASES else "default"
DATABASE_ROUTERS = ["reporting.reports.router.ReportReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Axes first: it refuses a locked-out user or address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- Static ---------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
if DEBUG:  # whitenoise warns on every request while the collected folder does not exist
    Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Security (production passes `manage.py check --deploy`) ---------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "partners.authentication.ChannelApiKeyAuthentication",
        "partners.authentication.PartnerCredentialAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "oms.kernel.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "oms.kernel.api.schema.OmsAutoSchema",
    "EXCEPTION_HANDLER": "oms.kernel.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # The API reads JSON bodies only (the schema says so); the staff UI and the admin are Django views.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # OPTIONS answers 405 with the Allow header: the schema is the description of each operation.
    "DEFAULT_METADATA_CLASS": None,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Per API key (orders.api.views.KeyRateThrottle); counters live in CACHES["default"].
    "DEFAULT_THROTTLE_RATES": {"orders": env.str("OMS_ORDERS_THROTTLE_RATE", default="1200/min")},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
SPECTACULAR_SETTINGS = {
    "TITLE": "OMS API",
    "DESCRIPTION": "Order management: capture, pricing, availability, fulfillment and billing.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The contract is public (like any API's docs); what it describes still needs a key or login.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Links from a create to what acts on its result (oms/openapi.py), after the enum hook.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "oms.openapi.add_links"],
    "ENUM_NAME_OVERRIDES": {
        "ChannelTypeEnum": "partners.models.ChannelType",
        "OrderStatusEnum": "orders.states.OrderStatus",
        "OrderLineStatusEnum": "orders.states.LineStatus",
        "DemandClassEnum": "customers.models.DemandClass",
        "OrderManualAdjustmentKindEnum": "orders.api.serializers.MANUAL_ADJUSTMENT_KINDS",
        "FulfillmentLineStatusEnum": "fulfillment.states.FulfillmentLineStatus",
        "ProcessStatusEnum": "fulfillment.states.ProcessStatus",
        "StepStatusEnum": "fulfillment.states.StepStatus",
        "ShipmentStatusEnum": "fulfillment.states.ShipmentStatus",
        "ShipmentUpdateStatusEnum": "fulfillment.api.serializers.SHIPMENT_UPDATE_STATUSES",
        "JeopardyPriorityEnum": "fulfillment.states.JeopardyPriority",
        "JeopardyAlertStatusEnum": "fulfillment.states.JeopardyAlertStatus",
        "JeopardyAlertResolutionEnum": "fulfillment.states.AlertResolution",
        "RebateClaimStatusEnum": "rebates.states.ClaimStatus",
        "ClaimDisputeReasonEnum": "rebates.states.DisputeReason",
        "RebatePayoutMethodEnum": "rebates.models.programs.PayoutMethod",
        "ShipDebitMethodEnum": "rebates.models.programs.DebitMethod",
        "RebateProgramStatusEnum": "rebates.states.ProgramStatus",
        "RebatePeriodEnum": "rebates.models.programs.Period",
        "PeriodEnum": ["month", "quarter", "year"],  # pricing's recurring period, named as before
        "DocumentStatusEnum": "documents.states.DocumentStatus",
        "DocumentTypeEnum": "documents.states.DocumentType",
        "DocumentViewChannelEnum": "documents.states.ViewChannel",
        "DocumentViewOutcomeEnum": "documents.states.ViewOutcome",
    },
}

# Exported spreadsheets must not run formulas planted in data (cells starting with = + - @).
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True

# --- Redis / Celery -------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    config.broker_url(REDIS_URL, variable="REDIS_URL")
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
config.broker_url(
    CELERY_BROKER_URL, variable="CELERY_BROKER_URL" if "CELERY_BROKER_URL" in os.environ else "REDIS_URL"
)
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND", default=REDIS_URL or f"file://{(VAR_DIR / 'results').as_posix()}"
)
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem"):
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "results").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task whose worker died comes back after this many seconds (Redis has no real acks).
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        # Short timeouts: a broker outage must never hold up (or fail) a request that committed.
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
    }
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="oms")
CELERY_TIMEZONE = TIME_ZONE
OMS_OUTBOX_SWEEP_SECONDS = env.float("OMS_OUTBOX_SWEEP_SECONDS", default=10.0)
OMS_OUTBOX_MAX_ATTEMPTS = env.int("OMS_OUTBOX_MAX_ATTEMPTS", default=8)
OMS_OUTBOX_BACKOFF_SECONDS = env.float("OMS_OUTBOX_BACKOFF_SECONDS", default=2.0)
OMS_OUTBOX_BACKOFF_MAX_SECONDS = env.float("OMS_OUTBOX_BACKOFF_MAX_SECONDS", default=600.0)
OMS_OUTBOX_LEASE_SECONDS = env.float("OMS_OUTBOX_LEASE_SECONDS", default=60.0)
OMS_OUTBOX_RETENTION_DAYS = env.int("OMS_OUTBOX_RETENTION_DAYS", default=14)
OMS_WEBHOOK_TIMEOUT_SECONDS = env.float("OMS_WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# Inventory: how often beat runs the reorder scan; how far a PO line may be over-received.
OMS_REORDER_SCAN_MINUTES = env.float("OMS_REORDER_SCAN_MINUTES", default=15.0)
OMS_RECEIPT_OVER_TOLERANCE_PERCENT = env.float("OMS_RECEIPT_OVER_TOLERANCE_PERCENT", default=0.0)
# Rebate claims: a claim (or the rest of a partly settled one) at or below this amount, in the
# claim's currency, is written off instead of claimed again; beat generates claims this often.
OMS_REBATE_WRITE_OFF_THRESHOLD = env.str("OMS_REBATE_WRITE_OFF_THRESHOLD", default="5.00")
OMS_REBATE_CLAIM_GENERATION_HOURS = env.float("OMS_REBATE_CLAIM_GENERATION_HOURS", default=24.0)

# Rebates: the currency of the journal's functional amounts (the general ledger's), and the hour
# (TIME_ZONE) of the nightly run that expires programs, accrues price drops and re-rates tiers.
OMS_FUNCTIONAL_CURRENCY = env.str("OMS_FUNCTIONAL_CURRENCY", default="USD")
OMS_REBATES_NIGHTLY_HOUR = env.int("OMS_REBATES_NIGHTLY_HOUR", default=2)
# Reporting: how often beat catches the sales facts up with the order audit trail.
OMS_REPORTS_CATCH_UP_SECONDS = env.float("OMS_REPORTS_CATCH_UP_SECONDS", default=300.0)
# ... and the currency reports are shown in when a request names none.
OMS_REPORT_CURRENCY = env.str("OMS_REPORT_CURRENCY", default="USD")

# Orders: an Idempotency-Key is kept 24 h (beat expires it); a claim's lease covers one request.
OMS_IDEMPOTENCY_TTL_HOURS = env.int("OMS_IDEMPOTENCY_TTL_HOURS", default=24)
OMS_IDEMPOTENCY_LEASE_SECONDS = env.int("OMS_IDEMPOTENCY_LEASE_SECONDS", default=60)

# Fulfillment orchestration: step retries (3 failures -> FAILED), the beat sweep that wakes
# waiting steps and re-sends lost step tasks, and how often a WAIT_FOR_* step re-checks.
OMS_STEP_MAX_ATTEMPTS = env.int("OMS_STEP_MAX_ATTEMPTS", default=3)
OMS_STEP_RETRY_BACKOFF_SECONDS = env.float("OMS_STEP_RETRY_BACKOFF_SECONDS", default=5.0)
OMS_STEP_SWEEP_SECONDS = env.float("OMS_STEP_SWEEP_SECONDS", default=30.0)
OMS_STEP_REDISPATCH_SECONDS = env.float("OMS_STEP_REDISPATCH_SECONDS", default=120.0)
OMS_STEP_WAIT_RECHECK_SECONDS = env.float("OMS_STEP_WAIT_RECHECK_SECONDS", default=900.0)
OMS_STEP_SWEEP_BATCH = env.int("OMS_STEP_SWEEP_BATCH", default=500)
# Planning and jeopardy (docs/orchestration.md): days a parcel travels (subtracted from the
# requested or promised delivery date), and how often the jeopardy scan runs (incremental; every
# OMS_JEOPARDY_FULL_SCAN_EVERY-th run re-reads every open process).
OMS_PLANNING_TRANSIT_DAYS = env.int("OMS_PLANNING_TRANSIT_DAYS", default=2)
# What-if: an expedited transfer arrives this many working days after today.
OMS_WHATIF_EXPEDITE_WORKING_DAYS = env.int("OMS_WHATIF_EXPEDITE_WORKING_DAYS", default=1)
OMS_JEOPARDY_SCAN_MINUTES = env.float("OMS_JEOPARDY_SCAN_MINUTES", default=5.0)
OMS_JEOPARDY_FULL_SCAN_EVERY = env.int("OMS_JEOPARDY_FULL_SCAN_EVERY", default=12)
# Customer emails (order confirmation, shipment notice).
# Default: each email is one INFO record of the `oms.mail` logger (web and worker logs alike).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="oms.kernel.mail.LogEmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="orders@oms.example")
# SMTP, when EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend (docs/documents.md).
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)

# Documents (docs/documents.md): rendered files, the letterhead, customer links, mail retries.
OMS_DOCUMENTS_ROOT = env.str("OMS_DOCUMENTS_ROOT", default=str(VAR_DIR / "documents"))
OMS_COMPANY_NAME = env.str("OMS_COMPANY_NAME", default="OMS Trading Ltd")
OMS_COMPANY_ADDRESS = env.str("OMS_COMPANY_ADDRESS", default="1 Harbour Road|Rotterdam 3011 AA|Netherlands")
OMS_COMPANY_LOGO = env.str("OMS_COMPANY_LOGO", default="img/icon.svg")  # a static file
OMS_PUBLIC_BASE_URL = env.str("OMS_PUBLIC_BASE_URL", default="http://localhost:8000")
OMS_DOCUMENT_LINK_DAYS = env.int("OMS_DOCUMENT_LINK_DAYS", default=30)
# Days kept per document type, "invoice=3650,quote=365" (the rest keep documents.retention defaults).
OMS_DOCUMENT_RETENTION = env.str("OMS_DOCUMENT_RETENTION", default="")
OMS_MAIL_MAX_ATTEMPTS = env.int("OMS_MAIL_MAX_ATTEMPTS", default=6)
OMS_MAIL_BACKOFF_SECONDS = env.float("OMS_MAIL_BACKOFF_SECONDS", default=30.0)

# --- Cache (API throttling counters) -----------------------------------------------------------
# Redis when there is one, so every web process shares the counters; else this process' memory.
CACHES = {
    # Fails open (reads miss, writes drop) while Redis is down: throttling must not fail capture.
    "default": {
        "BACKEND": "oms.kernel.cache.FailOpenRedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# --- Logging --------------------------------------------------------------------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"correlation": {"()": "oms.kernel.logging.CorrelationIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s [%(correlation_id)s] %(name)s: %(message)s"},
        "json": {"()": "oms.kernel.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["correlation"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": LOG_LEVEL, "propagate": True},
        "axes": {"level": "WARNING"},  # lockouts only, not its banner on every start
    },
}

# --- Security hardening (docs/security.md) -----------------------------------------------------
from datetime import timedelta  # noqa: E402

from csp.constants import NONCE, NONE, SELF  # noqa: E402

# Login throttling (django-axes): failures are counted per user name and, separately, per address;
# the OMS_LOGIN_FAILURE_LIMIT-th failure in a row locks both for the cool-off. Same page whether the
# user exists or not.
AXES_FAILURE_LIMIT = env.int("OMS_LOGIN_FAILURE_LIMIT", default=6)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("OMS_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_RESET_ON_SUCCESS = True
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token"]
# Behind the proxy (SECURE_PROXY_SSL_HEADER) the client is the first X-Forwarded-For hop.
AXES_CLIENT_IP_CALLABLE = "oms.kernel.security.client_ip"
OMS_TRUST_X_FORWARDED_FOR = env.bool("OMS_TRUST_X_FORWARDED_FOR", default=not DEBUG)

# Two-factor sign-in (django-otp): the roles that must pass a second factor before any staff page,
# the API with a session, or the admin. Others may enrol; the admin always asks for it.
OMS_2FA_REQUIRED_ROLES = env.list("OMS_2FA_REQUIRED_ROLES", default=["admin", "finance", "approver"])
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="OMS")
OMS_RECOVERY_CODES = 10
# Passkeys (django-otp-webauthn) as a second factor only (never instead of the password). The
# relying party is the host the user reached (ALLOWED_HOSTS guards it); browsers accept no IP.
OTP_WEBAUTHN_RP_ID_CALLABLE = "oms.kernel.twofactor.webauthn_rp_id"
OTP_WEBAUTHN_RP_NAME = env.str("OTP_TOTP_ISSUER", default="OMS")
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.list(
    "OMS_WEBAUTHN_ORIGINS",
    default=[f"https://{h}" for h in ALLOWED_HOSTS if h and h[0] not in ".*" and not h[0].isdigit()]
    + (["http://localhost:8000"] if DEBUG else []),
)

# Content security policy (django-csp 4): no inline script or style without the request's nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "report-uri": "/csp-report",
    },
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
OMS_PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=()"
)

# /metrics answers only `Authorization: Bearer <OMS_METRICS_TOKEN>` (unset: nobody).
OMS_METRICS_TOKEN = env.str("OMS_METRICS_TOKEN", default="")

# API keys: bad keys from one address within the window -> 429 until the window ends.
OMS_API_BAD_KEY_LIMIT = env.int("OMS_API_BAD_KEY_LIMIT", default=20)
OMS_API_BAD_KEY_WINDOW_SECONDS = env.int("OMS_API_BAD_KEY_WINDOW_SECONDS", default=300)
# A rotated key's predecessor keeps working this long unless the rotation names another expiry.
OMS_API_KEY_ROTATION_OVERLAP_DAYS = env.int("OMS_API_KEY_ROTATION_OVERLAP_DAYS", default=14)

# Access log of staff views of orders, customers, documents and exports; beat prunes old rows.
OMS_ACCESS_LOG_RETENTION_DAYS = env.int("OMS_ACCESS_LOG_RETENTION_DAYS", default=365)

# Payments (docs/payments.md): per channel code, per method ("card", "paypal"), the provider and its
# keys as JSON, e.g. {"web": {"card": {"provider": "stripe", "api_key": "sk_...", "webhook_secret":
# "whsec_..."}, "paypal": {"provider": "paypal", "client_id": "...", "client_secret": "...",
# "webhook_id": "..."}}}. "api_base" points an adapter at another base URL (the sandbox). A method
# without keys is off for that channel.
OMS_PAYMENT_GATEWAYS = env.json("OMS_PAYMENT_GATEWAYS", default={})
OMS_PAYMENT_TIMEOUT_SECONDS = env.float("OMS_PAYMENT_TIMEOUT_SECONDS", default=10.0)
# Operations left without an answer this long are asked about by the reconciliation task.
OMS_PAYMENT_RECONCILE_AFTER_SECONDS = env.float("OMS_PAYMENT_RECONCILE_AFTER_SECONDS", default=60.0)
OMS_PAYMENT_RECONCILE_SECONDS = env.float("OMS_PAYMENT_RECONCILE_SECONDS", default=120.0)
# Card authorizations expire after this many days (Stripe: 7; PayPal honours 3, valid 29).
OMS_PAYMENT_AUTH_VALID_DAYS = env.int("OMS_PAYMENT_AUTH_VALID_DAYS", default=7)
# Dunning: reminder level -> days overdue; the run is daily at this hour.
OMS_DUNNING_LEVELS = env.json("OMS_DUNNING_LEVELS", default={"1": 7, "2": 21, "3": 45})
OMS_DUNNING_HOUR = env.int("OMS_DUNNING_HOUR", default=6)
