"""Rollcall settings, read from the environment (see .env.example).

The defaults are the embedded set-up: SQLite in WAL mode under var/, no other service.
Production differs only through environment variables (DATABASE_URL, REDIS_URL, ...).
"""

import os
import sys
from datetime import timedelta
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("ROLLCALL_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)


def _secret_key() -> str:
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    # Local installs get a random key kept under var/, so `make run` needs no set-up and
    # no key is ever committed. A deployment must set SECRET_KEY explicitly.
    if env.bool("ROLLCALL_REQUIRE_SECRET_KEY", default=False):
        raise ImproperlyConfigured("SECRET_KEY is not set.")
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(get_random_secret_key())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()


def _field_encryption_keys() -> list[str]:
    """Fernet keys for secrets at rest (syncs.fields): the first encrypts, all decrypt.

    FIELD_ENCRYPTION_KEYS (comma-separated) or FIELD_ENCRYPTION_KEYS_FILE (one per line or
    comma-separated). Kept apart from SECRET_KEY, so rotating one leaves the other alone.
    """
    raw = env.str("FIELD_ENCRYPTION_KEYS", default="")
    source = "FIELD_ENCRYPTION_KEYS"
    if not raw and env.str("FIELD_ENCRYPTION_KEYS_FILE", default=""):
        source = env.str("FIELD_ENCRYPTION_KEYS_FILE")
        try:
            raw = Path(source).read_text()
        except OSError as exc:
            raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS_FILE: {exc}") from exc
    if not raw:
        # Local installs: one key generated under var/, like SECRET_KEY above.
        if env.bool("ROLLCALL_REQUIRE_SECRET_KEY", default=False):
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS is not set. Generate one with: python -c "
                '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
            )
        path = VAR_DIR / "field_keys"
        source = str(path)
        if not path.exists():
            VAR_DIR.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(Fernet.generate_key().decode() + "\n")
        raw = path.read_text()
    keys = [k.strip() for k in raw.replace("\n", ",").split(",") if k.strip()]
    if not keys:
        raise ImproperlyConfigured(f"{source} holds no key.")
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError as exc:  # binascii.Error is a ValueError
            raise ImproperlyConfigured(
                f"{source}: key {number} of {len(keys)} is not a Fernet key "
                "(32 url-safe base64-encoded bytes, as Fernet.generate_key() makes)."
            ) from exc
    return keys


FIELD_ENCRYPTION_KEYS = _field_encryption_keys()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_q",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "rostering",
    "syncs",
    "notify",
    "api",
    "web",
    # The pages' htmx, vendored: {% htmx_script %} serves it from our static files.
    "django_htmx",
    "devtools",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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


def _databases() -> dict:
    default = env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'rollcall.sqlite3'}")
    if default["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers wait (timeout)
        # instead of failing with "database is locked" half-way through a transaction.
        default.setdefault("OPTIONS", {}).update(
            {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            }
        )
        if default["NAME"] not in ("", ":memory:"):
            Path(default["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    elif sys.argv[1:2] == ["qcluster"]:
        # Forked workers must not inherit a persistent connection (ECOSYSTEM §10).
        default["CONN_MAX_AGE"] = 0
    else:
        default.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
        default.setdefault("CONN_HEALTH_CHECKS", True)
    return {"default": default}


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

if env.str("REDIS_URL", default=""):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env.str("REDIS_URL"),
        }
    }
else:
    # Shared by every process on the machine: the worker's status reaches /readyz
    # through it (a per-process memory cache would leave the web process blind).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# The worker (django-q2, ORM broker: the database is the queue). A sync must never be
# delivered twice while it runs, so `retry` exceeds the longest time a task can take,
# queue wait included: timeout × (1 + queue_limit / workers). syncs.checks refuses
# settings that break this (ECOSYSTEM §2).
Q_CLUSTER = {
    "name": "rollcall",
    "orm": "default",
    "workers": env.int("ROLLCALL_WORKERS", default=2),
    "queue_limit": 2,
    "timeout": env.int("ROLLCALL_TASK_TIMEOUT", default=1800),
    "retry": env.int("ROLLCALL_TASK_RETRY", default=3900),
    "max_attempts": 3,
    # A missed night is not replayed when the worker comes back: the next window runs.
    "catch_up": False,
    "save_limit": 500,
    "poll": env.float("ROLLCALL_QUEUE_POLL", default=1.0),
    "label": "Worker tasks",
}

# Email (notify/): EMAIL_URL as django-environ reads it, e.g. smtp+tls://user:pass@host:587;
# the console backend by default, so `make run` prints emails instead of sending them.
# Emails are only ever sent by the worker.
_email = {k: v for k, v in env.email_url("EMAIL_URL", default="consolemail://").items() if v}
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Rollcall <rollcall@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Links in emails and webhook bodies point here.
ROLLCALL_BASE_URL = env.str("ROLLCALL_BASE_URL", default="http://127.0.0.1:8000")
# Webhooks go to public https:// addresses only; True (tests only) also allows plain
# http:// and loopback addresses.
ROLLCALL_WEBHOOKS_ALLOW_LOOPBACK = env.bool("ROLLCALL_WEBHOOKS_ALLOW_LOOPBACK", default=False)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # django-q2 logs every enqueue at INFO: the worker's log wants it, a shell command's
    # output does not.
    "loggers": {"django-q": {"level": "INFO" if sys.argv[1:2] == ["qcluster"] else "WARNING"}},
}

# Sync engine limits.
ROLLCALL = {
    # Largest single file or zip member read from a source, in bytes.
    "MAX_FILE_BYTES": env.int("ROLLCALL_MAX_FILE_BYTES", default=2 * 1024**3),
    # Largest upload (all files together), in bytes.
    "MAX_UPLOAD_BYTES": env.int("ROLLCALL_MAX_UPLOAD_BYTES", default=1024**3),
    # Uploads kept per config (the newest), so a run can be looked into afterwards.
    "KEEP_UPLOADS": env.int("ROLLCALL_KEEP_UPLOADS", default=10),
    # A running sync writes its heartbeat and progress this often (seconds; 0: only at
    # stage changes).
    "HEARTBEAT_SECONDS": env.float("ROLLCALL_HEARTBEAT_SECONDS", default=5),
    # The worker runs syncs at this nice value (0-19; 0 leaves it as started), so the web
    # answers first on a machine that runs both (syncs.priority).
    "WORKER_NICE": env.int("ROLLCALL_WORKER_NICE", default=10),
    # The reaper fails a running sync whose heartbeat is older than this (its worker
    # died). Above the longest single write: on SQLite the heartbeat pauses while the
    # run's own apply transaction holds the write lock.
    "HEARTBEAT_STALE_SECONDS": env.float("ROLLCALL_HEARTBEAT_STALE_SECONDS", default=600),
    # ... and a queued sync older than this whose task the broker no longer holds (one
    # still in the queue waits for a free worker however long it takes).
    "QUEUED_STALE_SECONDS": env.float("ROLLCALL_QUEUED_STALE_SECONDS", default=4 * 3600),
    # The pre-flight check runs this many hours before each config's window opens.
    "PREFLIGHT_HOURS_BEFORE": env.float("ROLLCALL_PREFLIGHT_HOURS_BEFORE", default=3),
    # Notifications (notify/): the same failure is emailed at most once per this many
    # hours; daily digests go out at this hour of this time zone.
    "NOTIFY_REPEAT_HOURS": env.float("ROLLCALL_NOTIFY_REPEAT_HOURS", default=24),
    "DIGEST_HOUR": env.int("ROLLCALL_DIGEST_HOUR", default=7),
    "DIGEST_TIME_ZONE": env.str("ROLLCALL_DIGEST_TIME_ZONE", default="America/Los_Angeles"),
    # Webhook deliveries: (connect, read) timeouts in seconds, and the waits in minutes
    # before each retry (four waits: five attempts).
    "WEBHOOK_TIMEOUT": (5.0, 10.0),
    "WEBHOOK_RETRY_MINUTES": env.list(
        "ROLLCALL_WEBHOOK_RETRY_MINUTES", cast=float, default=[1, 5, 25, 125]
    ),
    # Runs, with their issues, school summaries and planned archives, stay readable this
    # many days; each config's latest applied and latest failed run are always kept.
    "HISTORY_DAYS": env.int("ROLLCALL_HISTORY_DAYS", default=30),
}
if ROLLCALL["HISTORY_DAYS"] < 1:
    raise ImproperlyConfigured("ROLLCALL_HISTORY_DAYS must be at least 1 (days).")
if not 0 <= ROLLCALL["WORKER_NICE"] <= 19:
    raise ImproperlyConfigured("ROLLCALL_WORKER_NICE must be a nice value from 0 to 19.")

# The REST API (api/, DESIGN §7). Bearer tokens first: an anonymous request then gets
# 401 with `WWW-Authenticate: Bearer` (DRF answers 403 when the first authenticator
# names no scheme). Session authentication, CSRF enforced, serves the pages.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.HasReach"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PagePagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Throttles count in the default cache: shared by the processes of one machine
    # (files), or of every machine with REDIS_URL. Rates are "N/second|minute|hour|day".
    "DEFAULT_THROTTLE_RATES": {
        # queueing runs and approving archives, per user
        "triggers": env.str("ROLLCALL_API_RATE_TRIGGERS", default="30/hour"),
        "uploads": env.str("ROLLCALL_API_RATE_UPLOADS", default="20/hour"),
        # CSV downloads, per user
        "downloads": env.str("ROLLCALL_API_RATE_DOWNLOADS", default="120/hour"),
        # failed POST /api/v1/auth/login/, per client address
        "login_failures": env.str("ROLLCALL_API_RATE_LOGIN_FAILURES", default="10/hour"),
    },
    # Proxies in front of gunicorn, so throttles see the client's address.
    "NUM_PROXIES": env.int("ROLLCALL_NUM_PROXIES", default=0) or None,
}
# Hashed, expiring API tokens (django-rest-knox), with a name and a read-only flag.
KNOX_TOKEN_MODEL = "accounts.ApiToken"
# knox's own migrations create its AuthToken table even when the model is swapped out,
# leaving an unused table with a foreign key to users that stops PostgreSQL from
# truncating the users table (TransactionTestCase flushes). Without migrations, Django
# creates tables only for knox's unswapped models: none.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Bearer",
    "TOKEN_MODEL": KNOX_TOKEN_MODEL,
    "TOKEN_TTL": timedelta(days=env.int("ROLLCALL_API_TOKEN_DAYS", default=90)),
    # No write per request (SQLite has one writer): a token lasts its TTL, then expires.
    "AUTO_REFRESH": False,
    # Recognisable in logs and by secret scanners.
    "TOKEN_PREFIX": "rollcall_",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Rollcall API",
    "DESCRIPTION": "Roster syncs: organizations, sync configs, runs, their issues and "
    "planned archives. Errors are JSON: {code, message, details}.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc from local static files (drf-spectacular-sidecar): no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Named, so another model's `status` choices never take (or rename) a run's; a
    # webhook delivery's status is its own enum.
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "syncs.models.RunStatus",
        "WebhookDeliveryStatusEnum": "notify.models.DeliveryStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.text_without_nul",
    ],
}
