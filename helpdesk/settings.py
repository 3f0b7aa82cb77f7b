"""Settings, read from the environment with safe development defaults.

Production sets ``SECRET_KEY``, ``DATABASE_URL``, ``REDIS_URL`` and ``ALLOWED_HOSTS``; without
``REDIS_URL`` the app falls back to in-process stand-ins (in-memory channel layer, local-memory
cache, eager Celery tasks) so that it runs on a machine with nothing but Python.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
TESTING = env_bool("HELPDESK_TESTING", "pytest" in sys.modules)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY and (DEBUG or TESTING):
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
# Without DEBUG and without SECRET_KEY, commands that sign nothing (migrations, translations)
# still run; the servers refuse to start (Django: "The SECRET_KEY setting must not be empty").

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS",
    ["localhost", "127.0.0.1", "[::1]", "testserver"] if (DEBUG or TESTING) else [],
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The public address of the app, for links in emails sent outside a request.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "template_partials",
    "helpdesk",
    "tickets",
    "chat",
    "telephony",
    "automations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "helpdesk.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "helpdesk.middleware.TenantMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
ASGI_APPLICATION = "helpdesk.asgi.application"
WSGI_APPLICATION = "helpdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "helpdesk.context_processors.tenancy",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file (not an in-memory database) for tests too, so the live server's threads and a
    # Celery worker process see the same data as the test.
    _test_db = os.environ.get("HELPDESK_TEST_DB", "")
    DATABASES["default"]["TEST"] = {
        "NAME": str(BASE_DIR / f".test-db{'-' + _test_db if _test_db else ''}.sqlite3")
    }
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Channels layer, cache, Celery broker -----------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# Keys of a test run never meet those of another run or of a running app on the same Redis.
_REDIS_PREFIX = f"test{os.getpid()}-" if TESTING else ""
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": os.environ.get("CHANNELS_PREFIX", _REDIS_PREFIX + "asgi"),
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_PREFIX", _REDIS_PREFIX + "helpdesk"),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "memory://")
# Without a broker the tasks run in-process (eager) and beat runs in a thread of `serve`.
# Tests run tasks eagerly too; the integration tests that need a real worker switch it off.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL or TESTING)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Keep the worker's database connection across tasks (Celery's Django fixup would otherwise
# reconnect for every task); a task that hit a database error closes it itself.
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", "200"))
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A test run gets a queue of its own so that it never shares a broker queue with another run.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get(
    "CELERY_QUEUE", f"helpdesk-test-{os.getpid()}" if TESTING else "helpdesk"
)
CELERY_BEAT_SCHEDULER = "celery.beat:Scheduler"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "requeue-stale-events": {
        "task": "automations.tasks.requeue_stale_events_task",
        "schedule": 30.0,
    },
    "requeue-stuck-webhooks": {
        "task": "automations.tasks_webhooks.requeue_stuck_webhooks_task",
        "schedule": 60.0,
    },
    "scan-time-workflows": {
        "task": "automations.tasks.scan_time_workflows_task",
        "schedule": 60.0,
    },
    "prune-workflow-runs": {
        "task": "automations.tasks.prune_workflow_runs_task",
        "schedule": 3600.0,
    },
    "purge-expired-invitations": {
        "task": "helpdesk.tasks.purge_expired_invitations_task",
        "schedule": 3600.0,
    },
    "requeue-stuck-deliveries": {
        "task": "tickets.tasks.requeue_stuck_deliveries_task",
        "schedule": 60.0,
    },
}
# Runs of workflows that did not match an event (one per workflow and event) are kept this
# many days for the run log, then deleted; runs that acted are kept.
WORKFLOW_NOT_MATCHED_RUNS_DAYS = int(os.environ.get("WORKFLOW_NOT_MATCHED_RUNS_DAYS", "30"))
HEALTHCHECK_CELERY = env_bool("HEALTHCHECK_CELERY", bool(REDIS_URL) and not TESTING)

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "helpdesk.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "org-home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
INVITATION_TTL_DAYS = 7

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
LANGUAGES = [
    ("en-us", _("English (US)")),
    ("fr", _("French")),
    ("de", _("German")),
    ("es", _("Spanish")),
    ("it", _("Italian")),
    ("pl", _("Polish")),
    ("pt-br", _("Portuguese (Brazil)")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "helpdesk_language"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
WHITENOISE_USE_FINDERS = DEBUG or TESTING or env_bool("WHITENOISE_USE_FINDERS", False)
if WHITENOISE_USE_FINDERS:
    # Files come from the finders; no collectstatic output is expected in development.
    warnings.filterwarnings("ignore", message="No directory at")
# Static files are sync iterators served through the ASGI handler (WhiteNoise); harmless.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if (DEBUG or TESTING)
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Attachments ----------------------------------------------------------------------------
ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", str(20 * 1024 * 1024)))
ATTACHMENT_MAX_COUNT = 20
# Executables and scripts: refused as attachments whatever their content type says.
ATTACHMENT_BLOCKED_EXTENSIONS = frozenset(
    [
        "exe",
        "com",
        "bat",
        "cmd",
        "msi",
        "msp",
        "scr",
        "pif",
        "cpl",
        "vbs",
        "vbe",
        "js",
        "jse",
        "ws",
        "wsf",
        "wsh",
        "ps1",
        "psm1",
        "jar",
        "hta",
        "lnk",
        "reg",
        "dll",
        "sys",
        "apk",
        "app",
        "dmg",
        "iso",
    ]
)
DATA_UPLOAD_MAX_MEMORY_SIZE = ATTACHMENT_MAX_BYTES + 5 * 1024 * 1024
# Raw inbound mail is capped a little above the attachment limit (encoding adds a third).
INBOUND_EMAIL_MAX_BYTES = int(ATTACHMENT_MAX_BYTES * 1.5)

# --- Outbound delivery ------------------------------------------------------------------------
DELIVERY_MAX_ATTEMPTS = int(os.environ.get("DELIVERY_MAX_ATTEMPTS", "6"))
DELIVERY_RETRY_BASE_SECONDS = float(os.environ.get("DELIVERY_RETRY_BASE_SECONDS", "10"))
DELIVERY_RETRY_MAX_SECONDS = 600.0  # far below the broker's visibility timeout

# --- Workflows --------------------------------------------------------------------------------
# Webhook actions refuse private and loopback addresses (SSRF) unless this is on.
AUTOMATION_WEBHOOK_ALLOW_PRIVATE = env_bool("AUTOMATION_WEBHOOK_ALLOW_PRIVATE", False)

# --- Email ------------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "helpdesk@localhost")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# --- Security ---------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG and not TESTING:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
