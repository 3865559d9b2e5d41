"""MediaHooks settings: every value comes from the environment (12-factor) and is validated here, once."""

import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from cms import environment as env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VERSION = "0.1.0"

# --- Django core ----------------------------------------------------------------------------------

DEBUG = env.get_bool("DEBUG", False)

# SECRET_KEY, else the key `make run` generated into var/secret_key (so every manage.py command of that checkout
# works in a second terminal without DEBUG); with neither, one is generated there only when DEBUG is on.
SECRET_KEY_FILE = VAR_DIR / "secret_key"
SECRET_KEY = env.get_str("SECRET_KEY")
if SECRET_KEY is None:
    if not DEBUG and not SECRET_KEY_FILE.exists():
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (or run `make run` once: it generates var/secret_key)."
        )
    SECRET_KEY = env.secret_file(SECRET_KEY_FILE, 50)


def _base_url(name: str, default: str | None) -> str | None:
    value = env.get_url(name, default, schemes=("http", "https"))
    return None if value is None else value.rstrip("/")


PUBLIC_BASE_URL = _base_url("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
_public_host = urlsplit(PUBLIC_BASE_URL).hostname

ALLOWED_HOSTS = env.get_list(
    "ALLOWED_HOSTS",
    ["127.0.0.1", "localhost", "[::1]", _public_host] if DEBUG else [_public_host],
)
CSRF_TRUSTED_ORIGINS = env.get_list("CSRF_TRUSTED_ORIGINS", [f"{urlsplit(PUBLIC_BASE_URL).scheme}://{urlsplit(PUBLIC_BASE_URL).netloc}"])

INSTALLED_APPS = [
    "cms",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "adminsortable2",
    "webhooks_app",
    "media_lifecycle",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "cms.middleware.BodySizeLimitMiddleware",
    "cms.middleware.NulInURLMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "media_lifecycle.middleware.UnitOfWorkMiddleware",
]

ROOT_URLCONF = "cms.urls"
WSGI_APPLICATION = "cms.wsgi.application"

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
            "libraries": {"admin_ids": "cms.admin_ids"},  # ids in admin URLs as they are
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
FORMAT_MODULE_PATH = ["cms.formats"]  # times to the second everywhere (the locale's default shows minutes)
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Database ---------------------------------------------------------------------------------------

DATABASE_URL = env.get_str("DATABASE_URL", "sqlite:///var/db.sqlite3")
try:
    _database = dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
except Exception as exc:  # dj-database-url raises several types for a bad URL
    raise ImproperlyConfigured(f"DATABASE_URL={DATABASE_URL!r} is not a database URL: {exc}") from None
if not _database.get("ENGINE"):
    raise ImproperlyConfigured(f"DATABASE_URL={DATABASE_URL!r} names no known database engine.")
if _database["ENGINE"] == "django.db.backends.sqlite3":
    _name = _database.get("NAME") or ""
    if _name and _name != ":memory:":
        _path = Path(_name)
        if not _path.is_absolute():
            _path = BASE_DIR / _path
        _path.parent.mkdir(parents=True, exist_ok=True)
        _database["NAME"] = str(_path)
    _database["CONN_MAX_AGE"] = None  # a local file: keep connections (and their PRAGMAs) for the process
    _database["CONN_HEALTH_CHECKS"] = False
    # Several processes write at once (web, workers): WAL, a busy timeout and BEGIN IMMEDIATE.
    _database["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DATABASES = {"default": _database}

# --- Task queue and cache ---------------------------------------------------------------------------

REDIS_URL = env.get_url("REDIS_URL", None, schemes=("redis", "rediss", "unix"), host=False)

Q_CLUSTER = {
    "name": env.get_str("Q_CLUSTER_NAME", "mediahooks"),
    "workers": env.get_int("WORKER_PROCESSES", 2, minimum=1),
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 200,
    "label": "Task queue",
    "poll": 0.05,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    # Without this key django-q2 silently falls back to Redis on localhost.
    Q_CLUSTER["orm"] = "default"

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Static files and media storage -----------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing one before collectstatic
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.get_str("MEDIA_ROOT", str(VAR_DIR / "media")))

STORAGE = (env.get_str("STORAGE", "filesystem") or "filesystem").lower()
if STORAGE == "filesystem":
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
    }
elif STORAGE == "s3":
    AWS_STORAGE_BUCKET_NAME = env.get_str("AWS_STORAGE_BUCKET_NAME")
    if not AWS_STORAGE_BUCKET_NAME:
        raise ImproperlyConfigured("STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME.")
    AWS_S3_ENDPOINT_URL = env.get_str("AWS_S3_ENDPOINT_URL")
    AWS_S3_REGION_NAME = env.get_str("AWS_S3_REGION_NAME")
    AWS_ACCESS_KEY_ID = env.get_str("AWS_ACCESS_KEY_ID")
    AWS_SECRET_ACCESS_KEY = env.get_str("AWS_SECRET_ACCESS_KEY")
    AWS_S3_CUSTOM_DOMAIN = env.get_str("AWS_S3_CUSTOM_DOMAIN")
    AWS_QUERYSTRING_AUTH = env.get_bool("AWS_QUERYSTRING_AUTH", False)
    AWS_DEFAULT_ACL = env.get_str("AWS_DEFAULT_ACL")
    _default_storage = {"BACKEND": "storages.backends.s3.S3Storage"}
else:
    raise ImproperlyConfigured(f"STORAGE={STORAGE!r} is not supported; use 'filesystem' or 's3'.")

STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

MAX_UPLOAD_BYTES = env.get_int("MAX_UPLOAD_BYTES", 5 * 1024**3, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
POSTER_MAX_PIXELS = env.get_int("POSTER_MAX_PIXELS", 40_000_000, minimum=1)
# Resumable (tus) uploads: how long an unfinished or unused upload is kept before prune_history deletes it.
UPLOAD_EXPIRY_HOURS = env.get_int("UPLOAD_EXPIRY_HOURS", 24, minimum=1)

# --- REST API ---------------------------------------------------------------------------------------

ANALYTICS_THROTTLE = env.get_str("ANALYTICS_THROTTLE", "600/min")
if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", ANALYTICS_THROTTLE):
    raise ImproperlyConfigured(
        f"ANALYTICS_THROTTLE={ANALYTICS_THROTTLE!r} must look like '600/min' (a count per s, min, hour or day)."
    )

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cms.authentication.BearerOrTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "cms.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PARSER_CLASSES": [
        "cms.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_THROTTLE_RATES": {"analytics": ANALYTICS_THROTTLE},
    # Reverse proxies in front of the app: throttles trust X-Forwarded-For only that many hops deep.
    "NUM_PROXIES": env.get_int("NUM_PROXIES", 0, minimum=0),
    "EXCEPTION_HANDLER": "cms.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "MediaHooks API",
    "DESCRIPTION": "Videos, playlists and livestreams with lifecycle webhooks.",
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a `status`; name the delivery one, so the schema has no generated enum names.
    "ENUM_NAME_OVERRIDES": {"DeliveryStatusEnum": "webhooks_app.models.Delivery.Status"},
}

# --- Webhooks and processing ------------------------------------------------------------------------

WEBHOOK_RETRY_SCHEDULE = env.get_schedule(
    "WEBHOOK_RETRY_SCHEDULE", "5,300,1800,7200,18000,36000,50400,72000,86400"
)
WEBHOOK_RETRY_JITTER = env.get_float("WEBHOOK_RETRY_JITTER", 0.2, minimum=0)
WEBHOOK_TIMEOUT = env.get_float("WEBHOOK_TIMEOUT", 10, positive=True)
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.get_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
WEBHOOK_DISABLE_AFTER = env.get_int("WEBHOOK_DISABLE_AFTER", 5, minimum=1)
WEBHOOK_LEASE_SECONDS = env.get_float("WEBHOOK_LEASE_SECONDS", 60, positive=True)
if WEBHOOK_LEASE_SECONDS <= WEBHOOK_TIMEOUT:
    raise ImproperlyConfigured(
        f"WEBHOOK_LEASE_SECONDS={WEBHOOK_LEASE_SECONDS:g} must exceed WEBHOOK_TIMEOUT={WEBHOOK_TIMEOUT:g}."
    )
WEBHOOK_USER_AGENT = f"MediaHooks/{VERSION}"
WEBHOOK_HISTORY_DAYS = env.get_int("WEBHOOK_HISTORY_DAYS", 30, minimum=1)

# Code hooks (SPEC §12): how long an after-hook attempt may run, and the modules imported at startup besides
# each installed app's `hooks` module.
HOOK_TIMEOUT = env.get_float("HOOK_TIMEOUT", 30, positive=True)
HOOK_MODULES = env.get_list("HOOK_MODULES", [])
for _module in HOOK_MODULES:
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", _module):
        raise ImproperlyConfigured(f"HOOK_MODULES: {_module!r} is not a dotted module path like 'myapp.hooks'.")

PROCESSOR_URL = _base_url("PROCESSOR_URL", None)
PROCESSOR_SECRET = env.get_str("PROCESSOR_SECRET") or env.secret_file(VAR_DIR / "processor_secret")
if len(PROCESSOR_SECRET) < 16:
    raise ImproperlyConfigured("PROCESSOR_SECRET must be at least 16 characters long.")
PROCESSOR_ALLOWED_IPS = []
for _item in env.get_list("PROCESSOR_ALLOWED_IPS", []):
    try:
        PROCESSOR_ALLOWED_IPS.append(ipaddress.ip_network(_item, strict=False))
    except ValueError:
        raise ImproperlyConfigured(f"PROCESSOR_ALLOWED_IPS: {_item!r} is not an IP address or CIDR.") from None

RENDITION_HEIGHTS = {"2160p": 2160, "1440p": 1440, "1080p": 1080, "720p": 720, "480p": 480, "360p": 360, "240p": 240}
PROCESSING_RENDITIONS = env.get_list("PROCESSING_RENDITIONS", ["1080p", "720p", "480p"])
for _quality in PROCESSING_RENDITIONS:
    if _quality not in RENDITION_HEIGHTS:
        raise ImproperlyConfigured(
            f"PROCESSING_RENDITIONS: {_quality!r} is not one of {', '.join(RENDITION_HEIGHTS)}."
        )
if not PROCESSING_RENDITIONS:
    raise ImproperlyConfigured("PROCESSING_RENDITIONS must name at least one rendition.")

THUMBNAIL_TIMESTAMP = env.get_str("THUMBNAIL_TIMESTAMP", "00:00:10")
if not re.fullmatch(r"(\d{1,2}:)?(\d{1,2}:)?\d{1,5}(\.\d+)?", THUMBNAIL_TIMESTAMP):
    raise ImproperlyConfigured(f"THUMBNAIL_TIMESTAMP={THUMBNAIL_TIMESTAMP!r} must look like 00:00:10 or 10.5.")
PROCESSING_TIMEOUT = env.get_int("PROCESSING_TIMEOUT", 600, minimum=10)
Q_CLUSTER["timeout"] = PROCESSING_TIMEOUT + 180  # a built-in processor job ends itself before this
Q_CLUSTER["retry"] = Q_CLUSTER["timeout"] + 300

# --- Live ingest (the RTMP media server) -------------------------------------------------------------

RTMP_PORT = env.get_int("RTMP_PORT", 1935, minimum=1)
if RTMP_PORT > 65535:
    raise ImproperlyConfigured(f"RTMP_PORT={RTMP_PORT} must be a TCP port (1-65535).")
LIVESTREAM_INGEST_URL = env.get_url("LIVESTREAM_INGEST_URL", f"rtmp://{_public_host}:{RTMP_PORT}/live",
                                    schemes=("rtmp", "rtmps", "srt")).rstrip("/")
LIVESTREAM_PLAYBACK_URL = env.get_url("LIVESTREAM_PLAYBACK_URL", PUBLIC_BASE_URL + "/live/{id}/index.m3u8",
                                      schemes=("http", "https"))
if "{id}" not in LIVESTREAM_PLAYBACK_URL:
    raise ImproperlyConfigured("LIVESTREAM_PLAYBACK_URL must contain {id}, where the livestream's id goes.")
# Where `runmediaserver`'s nginx writes live HLS (hls/<livestream id>/) and recordings (recordings/).
LIVESTREAM_DIR = Path(env.get_str("LIVESTREAM_DIR", str(VAR_DIR / "live"))).resolve()
INGEST_ALLOWED_IPS = []
for _item in env.get_list("INGEST_ALLOWED_IPS", ["127.0.0.1", "::1"]):
    try:
        INGEST_ALLOWED_IPS.append(ipaddress.ip_network(_item, strict=False))
    except ValueError:
        raise ImproperlyConfigured(f"INGEST_ALLOWED_IPS: {_item!r} is not an IP address or CIDR.") from None

# --- Email and notices ------------------------------------------------------------------------------

EMAIL_HOST = env.get_str("EMAIL_HOST")
EMAIL_BACKEND = env.get_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
# In development (DEBUG on, mail printed on the console) the demo superuser is the admin, so that failure
# notices show up on the console of `make run`; elsewhere nobody is mailed unless ADMINS names someone.
DEMO_ADMIN_EMAIL = "admin@example.com"
_console_mail = EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend"
ADMINS = [(address, address) for address in
          env.get_list("ADMINS", [DEMO_ADMIN_EMAIL] if DEBUG and _console_mail else [])]
for _name, _address in ADMINS:
    if "@" not in _address:
        raise ImproperlyConfigured(f"ADMINS: {_address!r} is not an email address.")
MANAGERS = ADMINS
EMAIL_HOST = EMAIL_HOST or "localhost"
EMAIL_PORT = env.get_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env.get_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.get_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.get_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env.get_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on.")
DEFAULT_FROM_EMAIL = env.get_str("DEFAULT_FROM_EMAIL", "MediaHooks <mediahooks@localhost>")
SERVER_EMAIL = env.get_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
EMAIL_SUBJECT_PREFIX = "[MediaHooks] "

# --- Logging ----------------------------------------------------------------------------------------

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_LEVEL = env.get_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in LOG_LEVELS:
    raise ImproperlyConfigured(f"LOG_LEVEL={LOG_LEVEL!r} must be one of {', '.join(LOG_LEVELS)}.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "webhooks_app": {"level": LOG_LEVEL},
        "media_lifecycle": {"level": LOG_LEVEL},
        "django_q": {"level": "WARNING"},
    },
}

if not DEBUG:
    SESSION_COOKIE_SECURE = PUBLIC_BASE_URL.startswith("https://")
    CSRF_COOKIE_SECURE = PUBLIC_BASE_URL.startswith("https://")
