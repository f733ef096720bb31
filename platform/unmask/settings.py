"""Unmask settings: embedded defaults for one machine, production services by environment.

With no environment at all this runs on SQLite, a local media folder, the in-memory channel
layer and a worker thread inside the server process. DATABASE_URL, REDIS_URL and the
STORAGE_* variables switch to PostgreSQL, Redis + Celery and S3/MinIO. `.env.example`
documents every variable read here.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from unmask.env import env_bool, env_float, env_int, env_list, env_path, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent  # the repository root
DATA_DIR = env_path("UNMASK_DATA_DIR", BASE_DIR / "var")

# --- Core -----------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", True)
_DEV_SECRET_KEY = "unmask-dev-only-secret-key-never-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == _DEV_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI files served by us, not a CDN
    "channels",
    "unmask.accounts",
    "unmask.analyses",
    "unmask.review",
    "unmask.api",
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
    # Redis or the database out of reach: a 503 page, not a server error. It sees what views
    # raise, including the session and user lookups (lazy, so made inside the view).
    "unmask.outage.OutageMiddleware",
]

ROOT_URLCONF = "unmask.urls"
ASGI_APPLICATION = "unmask.asgi.application"
WSGI_APPLICATION = None

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

# --- Database -------------------------------------------------------------------------------
if not env_str("DATABASE_URL"):
    DATA_DIR.mkdir(parents=True, exist_ok=True)  # a fresh clone has no var/ yet
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'unmask.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        # A kept connection (CONN_MAX_AGE > 0) that died in an outage is replaced on reuse.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Worker threads and request threads write concurrently: wait for the lock, not fail.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "analyses:list"
LOGOUT_REDIRECT_URL = "home"

# SMTP when EMAIL_HOST is set, else messages (password resets) are printed to the console.
MAILERS = {
    "default": (
        {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": env_str("EMAIL_HOST"),
                "port": env_int("EMAIL_PORT", 587),
                "username": env_str("EMAIL_HOST_USER"),
                "password": env_str("EMAIL_HOST_PASSWORD"),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
            },
        }
        if env_str("EMAIL_HOST")
        else {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    )
}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Unmask <noreply@localhost>")

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env_path("STATIC_ROOT", DATA_DIR / "staticfiles")
MEDIA_ROOT = env_path("MEDIA_ROOT", DATA_DIR / "media")
MEDIA_URL = "/media/"  # never served directly: media goes through permission-checked views

STORAGE_BUCKET = env_str("STORAGE_BUCKET")
if STORAGE_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": STORAGE_BUCKET,
            "endpoint_url": env_str("STORAGE_ENDPOINT_URL") or None,
            "access_key": env_str("STORAGE_ACCESS_KEY") or None,
            "secret_key": env_str("STORAGE_SECRET_KEY") or None,
            "region_name": env_str("STORAGE_REGION") or None,
            "default_acl": None,
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Uploads and limits ---------------------------------------------------------------------
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 500 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024  # larger uploads stream to a temporary file
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
UPLOAD_EXTENSIONS = env_list("UPLOAD_EXTENSIONS", "mp4,mov,avi,webm,mkv,m4v")
ANALYSIS_MAX_ACTIVE_PER_USER = env_int("ANALYSIS_MAX_ACTIVE_PER_USER", 3)
ANALYSIS_FLAG_THRESHOLD = env_float("ANALYSIS_FLAG_THRESHOLD", 0.5)
ANALYSIS_URL_REUSE_HOURS = env_int("ANALYSIS_URL_REUSE_HOURS", 24)
ANALYSIS_STALE_SECONDS = env_int("ANALYSIS_STALE_SECONDS", 120)
ANALYSIS_MAX_ATTEMPTS = env_int("ANALYSIS_MAX_ATTEMPTS", 2)  # a stale job is re-run, then failed
# Celery: a row still queued this long after its last send is sent again (a lost enqueue).
ANALYSIS_RESEND_QUEUED_SECONDS = env_int("ANALYSIS_RESEND_QUEUED_SECONDS", 600)
ANALYSIS_THREAD_WORKERS = env_int("ANALYSIS_THREAD_WORKERS", 1)  # embedded runner's threads
# The embedded runner starts with the server's first request; tests switch it off.
ANALYSIS_THREAD_START = env_bool("ANALYSIS_THREAD_START", True)

FETCH_MAX_BYTES = env_int("FETCH_MAX_BYTES", 500 * 1024 * 1024)
FETCH_MAX_DURATION_S = env_int("FETCH_MAX_DURATION_S", 3600)
FETCH_TIMEOUT_S = env_int("FETCH_TIMEOUT_S", 300)
# Tests only: loopback hosts the fetcher may reach (e.g. "127.0.0.1"). Empty in production.
FETCH_ALLOW_HOSTS = env_list("FETCH_ALLOW_HOSTS", "")

# --- Detection ------------------------------------------------------------------------------
DETECTION_DEVICE = env_str("DETECTION_DEVICE", "auto")
DETECTION_MODEL = env_str("DETECTION_MODEL", "")  # empty: the shipped default checkpoint
# The shipped detector's model card, shown at /model/ and linked from every result.
DETECTION_MODEL_CARD = env_path(
    "DETECTION_MODEL_CARD", BASE_DIR / "detection" / "weights" / "MODEL_CARD.md"
)
DETECTION_FRAMES = env_int("DETECTION_FRAMES", 0)  # 0: the model card's frame count
# torch's CPU threads in a process that runs the engine; 0: one less than the cores, at most 4
# (more threads than free cores make inference much slower, not faster).
DETECTION_THREADS = env_int("DETECTION_THREADS", 0) or max(1, min(4, (os.cpu_count() or 2) - 1))
DETECTION_MAX_DURATION_S = env_int("DETECTION_MAX_DURATION_S", 3 * 3600)
DETECTION_MAX_PIXELS = env_int("DETECTION_MAX_PIXELS", 8192 * 8192)
# Tests only: run a checkpoint whose card says trained=False. Never with DEBUG off.
DETECTION_ALLOW_UNTRAINED = env_bool("DETECTION_ALLOW_UNTRAINED", False)
if DETECTION_ALLOW_UNTRAINED and not DEBUG:
    raise ImproperlyConfigured(
        "DETECTION_ALLOW_UNTRAINED is for tests; it is refused with DEBUG off."
    )

# --- Jobs, channels, cache ------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
ANALYSIS_RUNNER = env_str("ANALYSIS_RUNNER", "celery" if REDIS_URL else "thread")
if ANALYSIS_RUNNER not in {"thread", "celery"}:
    raise ImproperlyConfigured("ANALYSIS_RUNNER must be 'thread' or 'celery'.")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py's default 5-s socket timeout equals channels_redis's 5-s blocking pop:
            # a reply a moment late under load broke websockets with 1011. Read longer.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}]},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    # In-memory, but safe to send to from the embedded runner's worker threads.
    CHANNEL_LAYERS = {"default": {"BACKEND": "unmask.layers.ThreadSafeInMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "detection"
CELERY_TASK_ROUTES = {"detection.*": {"queue": "detection"}}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Longer than the longest job, so a slow job is not handed to a second worker.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 4 * 3600),
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "unmask.accounts.authentication.DeviceTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "unmask.api.throttles.UserThrottle",  # these fail open when Redis is away
        "unmask.api.throttles.AnonThrottle",
    ],
    "EXCEPTION_HANDLER": "unmask.outage.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "user": env_str("API_THROTTLE_USER", "600/hour"),
        "anon": env_str("API_THROTTLE_ANON", "60/hour"),
        "submit": env_str("API_THROTTLE_SUBMIT", "60/hour"),
        # Password sign-ins for API tokens, per client address.
        "sign_in": env_str("API_THROTTLE_SIGN_IN", "10/minute"),
    },
}
_token_ttl_days = env_int("API_TOKEN_TTL_DAYS", 90)
KNOX_TOKEN_MODEL = "knox.AuthToken"  # named so migrations can depend on it (it is swappable)
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=_token_ttl_days) if _token_ttl_days > 0 else None,
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Unmask API",
    "DESCRIPTION": (
        "Check videos for deepfakes: submit a file or URL, follow progress, read results."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # status and stage share one choice set: name it once (else check --deploy warns W001).
    "ENUM_NAME_OVERRIDES": {"AnalysisStatusEnum": "unmask.analyses.models.Status"},
}

# --- Security (production) ------------------------------------------------------------------
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("SECURE_PROXY_SSL_HEADER", not DEBUG):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
