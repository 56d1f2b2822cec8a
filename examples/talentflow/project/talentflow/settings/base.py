"""Settings shared by every environment.

Values that differ between deployments come from environment variables; the
helpers below parse them strictly, so a typo fails at startup instead of
silently meaning something else.
"""
import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name, default=False):
    """Read a boolean environment variable (1/0, true/false, yes/no, on/off)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return bool(raw.strip())


def env_int(name, default):
    """Read an integer environment variable."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None


def env_list(name, default=()):
    """Read a comma-separated list."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_url(url):
    """Turn ``postgres://user:password@host:port/name`` into Django's DATABASES entry.

    As in libpq's URIs, a server on a unix socket is given by its directory in
    the query: ``postgresql://user@/name?host=/run/postgresql``.
    """
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    if parsed.scheme not in ("postgres", "postgresql"):
        raise ImproperlyConfigured(f"DATABASE_URL scheme {parsed.scheme!r}: expected postgres")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")) or "talentflow",
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or query.get("host", [""])[0],
        "PORT": str(parsed.port or query.get("port", [""])[0]),
    }


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-insecure-talentflow-key-change-me")

DEBUG = env_bool("DJANGO_DEBUG", False)

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "apps.common",
    "apps.accounts",
    "apps.candidates",
    "apps.jobs",
    "apps.interviews",
    "apps.analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "talentflow.urls"
WSGI_APPLICATION = "talentflow.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# Database: one PostgreSQL, persistent connections (no reconnect per request).
DATABASES = {
    "default": {
        **database_from_url(
            os.environ.get("DATABASE_URL", "postgres://talentflow@127.0.0.1:5432/talentflow")
        ),
        "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", None),
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"{REDIS_URL}/0",
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        "KEY_PREFIX": "tf",
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.accounts.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["apps.accounts.permissions.IsCompanyMember"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# Celery: Redis broker and result backend. Django and Celery share one clock.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", f"{REDIS_URL}/1")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", f"{REDIS_URL}/2")
CELERY_TIMEZONE = "America/New_York"
CELERY_ENABLE_UTC = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Authentication: OAuth2 authorization-code login against the company's
# identity provider, then our own JWT access + rotating refresh tokens.
OAUTH_PROVIDER = {
    "CLIENT_ID": os.environ.get("OAUTH_CLIENT_ID", "talentflow"),
    "CLIENT_SECRET": os.environ.get("OAUTH_CLIENT_SECRET", "talentflow-secret"),
    "AUTHORIZE_URL": os.environ.get("OAUTH_AUTHORIZE_URL", "http://127.0.0.1:9000/authorize"),
    "TOKEN_URL": os.environ.get("OAUTH_TOKEN_URL", "http://127.0.0.1:9000/token"),
    "USERINFO_URL": os.environ.get("OAUTH_USERINFO_URL", "http://127.0.0.1:9000/userinfo"),
    "REDIRECT_URI": os.environ.get(
        "OAUTH_REDIRECT_URI", "http://testserver/api/auth/oauth/callback/"
    ),
    "SCOPE": "openid email profile",
    "STATE_TTL_SECONDS": 600,
    "TIMEOUT_SECONDS": 5,
}

JWT = {
    "SIGNING_KEY": os.environ.get("JWT_SIGNING_KEY", SECRET_KEY),
    "ALGORITHM": "HS256",
    "ISSUER": "talentflow",
    "AUDIENCE": "talentflow-api",
    "ACCESS_TTL_SECONDS": 15 * 60,
    "REFRESH_TTL_SECONDS": 14 * 24 * 3600,
    # A refresh token presented again within this window (two browser tabs
    # refreshing at once) gets the successor issued the first time.
    "REFRESH_REUSE_GRACE_SECONDS": 30,
}

# Candidate sync from partner systems: only public addresses, unless a host is
# explicitly trusted ("host:port").
CANDIDATE_SYNC = {
    "TRUSTED_HOSTS": env_list("CANDIDATE_SYNC_TRUSTED_HOSTS"),
    "TIMEOUT_SECONDS": 5,
    "MAX_BYTES": 2_000_000,
    "MAX_REDIRECTS": 3,
}

CANDIDATE_IMPORT_MAX_ROWS = 5000
DOCUMENT_MAX_BYTES = 5 * 1024 * 1024

ANALYTICS_CACHE = {
    "URL": f"{REDIS_URL}/3",
    "MAX_CONNECTIONS": 8,
    "TTL_SECONDS": 300,
    "CLIENT_NAME": "talentflow-analytics",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
JOB_SCORING_TIMEOUT_SECONDS = 30


def redis_db_url(db):
    """The URL of Redis database ``db`` on the configured server.

    ``REDIS_URL`` is ``redis://host:port`` or, for a server on a unix socket,
    ``unix:///path/to/redis.sock`` (where the database goes in the query).
    """
    if REDIS_URL.startswith("unix://"):
        return f"{REDIS_URL}?db={db}"
    return f"{REDIS_URL}/{db}"


if REDIS_URL.startswith("unix://"):
    # A server on a unix socket: every client gets the database its own way;
    # Celery spells the socket redis+socket:// with the database as virtual_host.
    _REDIS_SOCKET = REDIS_URL[len("unix://"):]
    CACHES["default"]["LOCATION"] = redis_db_url(0)
    CELERY_BROKER_URL = os.environ.get(
        "CELERY_BROKER_URL", f"redis+socket://{_REDIS_SOCKET}?virtual_host=1"
    )
    CELERY_RESULT_BACKEND = os.environ.get(
        "CELERY_RESULT_BACKEND", f"redis+socket://{_REDIS_SOCKET}?virtual_host=2"
    )
    ANALYTICS_CACHE["URL"] = redis_db_url(3)
