"""Parity settings: one module, read from the environment, safe defaults for development.

PARITY_MODE=production switches on the hardened settings that `manage.py check --deploy` asks for
and refuses to start without a real SECRET_KEY.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PARITY_MODE = env_str("PARITY_MODE", "development")
PRODUCTION = PARITY_MODE == "production"

_DEV_SECRET = "django-insecure-parity-development-only-key-change-me-in-production"
SECRET_KEY = env_str("SECRET_KEY", "" if PRODUCTION else _DEV_SECRET)
if PRODUCTION and (not SECRET_KEY or SECRET_KEY == _DEV_SECRET):
    raise ImproperlyConfigured("SECRET_KEY must be set from the environment in production")

DEBUG = env_bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tables2",
    "django_filters",
    "django_q",
    "rest_framework",
    "rest_framework.authtoken",
    "axes",
    "integration",
    "reconciliation",
    "exceptions",
    "connectors",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A request id in every log record of a request, and in the response (integration/logging.py).
    "integration.logging.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "integration.urls"
WSGI_APPLICATION = "integration.wsgi.application"
ASGI_APPLICATION = "integration.asgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'parity.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
    )
}
SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if SQLITE:
    # The embedded database serves a web process and a qcluster at once: wait for locks, and
    # take the write lock when a transaction starts (a deferred one that later writes fails at
    # once with "database is locked", whatever the timeout).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes first: it refuses a locked-out username+address before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling: PARITY_LOGIN_FAILURE_LIMIT wrong passwords for one username from one address
# lock that pair out for PARITY_LOGIN_COOLOFF_MINUTES (even with the right password); a successful
# sign-in clears the count. Keyed on the pair so a guesser elsewhere cannot lock a user out.
AXES_ENABLED = env_bool("PARITY_LOGIN_THROTTLE", True)
AXES_FAILURE_LIMIT = env_int("PARITY_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("PARITY_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # every failed sign-in kept (time, address, browser)
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind this many reverse proxies the client's address is read from X-Forwarded-For (from the
# right); with 0, the connecting address. Unset behind a proxy, everyone shares the proxy's address.
PARITY_TRUSTED_PROXIES = env_int("PARITY_TRUSTED_PROXIES", 0)
AXES_CLIENT_IP_CALLABLE = "integration.client_ip.client_ip"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "exceptions:queue"
LOGOUT_REDIRECT_URL = "login"

# Sessions: cookies out of reach of scripts and of cross-site POSTs, at most SESSION_HOURS long
# (Secure and ending with the browser in production, below).
SESSION_COOKIE_AGE = env_int("SESSION_HOURS", 12) * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"

# Uploaded bundles can be large; anything above this streams to a temporary file.
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Largest file a form may upload (mapping CSVs); larger ones are refused by name (uploads.py).
PARITY_MAX_UPLOAD_BYTES = env_int("PARITY_MAX_UPLOAD_BYTES", 5 * 1024 * 1024)
PARITY_MAX_BUNDLE_BYTES = env_int("PARITY_MAX_BUNDLE_BYTES", 2 * 1024 * 1024 * 1024)

# Connectors: credentials are encrypted with these Fernet keys (first encrypts, all decrypt, so
# keys rotate); required in production. Connections may only reach allow-listed hosts and schemes.
PARITY_SECRET_KEYS = env_list("PARITY_SECRET_KEYS")
PARITY_CONNECTOR_ALLOWED_HOSTS = env_list(
    "PARITY_CONNECTOR_ALLOWED_HOSTS", "127.0.0.1,localhost,::1"
)
PARITY_CONNECTOR_ALLOWED_SCHEMES = env_list("PARITY_CONNECTOR_ALLOWED_SCHEMES", "https,http")
PARITY_CONNECTOR_FOLDERS = env_list("PARITY_CONNECTOR_FOLDERS")
# An API answer larger than this is refused (connectors/http.py): never read into memory whole.
PARITY_CONNECTOR_MAX_RESPONSE_MB = env_int("PARITY_CONNECTOR_MAX_RESPONSE_MB", 20)
PARITY_SYNC_OVERLAP_MINUTES = env_int("PARITY_SYNC_OVERLAP_MINUTES", 5)
PARITY_CURRENCY = env_str("PARITY_CURRENCY", "GBP")
# Snapshots (customers' names, addresses, phones, emails) are deleted this many days after they
# were taken in, except those still in use (reconciliation/retention.py).
PARITY_RETENTION_DAYS = env_int("PARITY_RETENTION_DAYS", 90)

Q_CLUSTER = {
    "name": "parity",
    "orm": "default",
    # SQLite has one writer: a single worker there; PostgreSQL takes several.
    "workers": env_int("Q_WORKERS", 1 if SQLITE else 2),
    # django-q2 requires timeout < retry: a task is retried only after it can no longer be running.
    "timeout": env_int("Q_TIMEOUT", 1800),
    "retry": env_int("Q_RETRY", 2100),
    "max_attempts": env_int("Q_MAX_ATTEMPTS", 3),
    "catch_up": False,
    "save_limit": 1000,
    "ack_failures": True,
}
if env_str("REDIS_URL"):
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = env_str("REDIS_URL")

# The JSON API (docs/api.md): a token per user (`manage.py api_token <username>`) for other tools,
# the session for the browsable pages; anything else is 401.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}

# Email (alerts, docs/alerts.md): printed to the console unless an SMTP host is given.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Parity <parity@localhost>")

# Alerts: links in messages point here; a run opening more than PARITY_ALERT_BATCH_LIMIT
# exceptions for one route sends one summary instead of a message each.
PARITY_BASE_URL = env_str("PARITY_BASE_URL", "http://127.0.0.1:8000")
PARITY_ALERT_BATCH_LIMIT = env_int("PARITY_ALERT_BATCH_LIMIT", 20)
# A failed send is tried again after 1, 2, 4 … times the backoff, up to the attempts limit.
PARITY_ALERT_MAX_ATTEMPTS = env_int("PARITY_ALERT_MAX_ATTEMPTS", 4)
PARITY_ALERT_BACKOFF_SECONDS = env_int("PARITY_ALERT_BACKOFF_SECONDS", 60)
PARITY_ALERT_WEBHOOK_TIMEOUT = float(env_str("PARITY_ALERT_WEBHOOK_TIMEOUT", "10"))

# LOG_FORMAT=json: one JSON object per line (integration/logging.py) for a log pipeline.
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "integration.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # axes.apps: a version banner at every start of every process; its lockout lines stay.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes.apps": {"level": "WARNING"}},
}

# A load balancer probes the health endpoints over plain HTTP on the private side of the proxy:
# they answer there rather than redirect to HTTPS (they carry no record data).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

if PRODUCTION:
    # WhiteNoise serves the collected static files in production; runserver does it in development.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
    # Trust a proxy's "this came over HTTPS" header only when told which one it sets (and strips
    # from clients): PARITY_PROXY_SSL_HEADER=X-Forwarded-Proto. Trusting it unasked lets any
    # client claim HTTPS.
    if env_str("PARITY_PROXY_SSL_HEADER"):
        _header = env_str("PARITY_PROXY_SSL_HEADER").upper().replace("-", "_")
        SECURE_PROXY_SSL_HEADER = (f"HTTP_{_header}", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Shared office machines: the session ends with the browser, and after a working day anyway.
    SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
