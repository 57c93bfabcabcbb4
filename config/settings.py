"""Studio settings: one module, driven by environment variables.

Every variable is documented in `.env.example` and the README. Defaults are the
zero-config local set-up: SQLite and media under `STUDIO_DATA_DIR`, the ORM
broker and the offline local engine.
"""

from __future__ import annotations

import os
import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "django-insecure-studio-development-key-do-not-use-in-production"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

# An empty variable (as in a copied .env.example) means "use the default".


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "")
    if not raw.strip():
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0/true/false/yes/no, not {raw!r}")


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name, "")
    if not raw.strip():
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


TESTING = "pytest" in sys.modules or env_bool("STUDIO_TESTING", False)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY if (DEBUG or TESTING) else "")
if not DEBUG and not TESTING and (not SECRET_KEY or SECRET_KEY == DEV_SECRET_KEY):
    raise ImproperlyConfigured(
        "SECRET_KEY is missing or is the development key. With DEBUG off Studio needs its own "
        "secret: set SECRET_KEY to a long random string (for example the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`), or set DEBUG=1 "
        "for local development."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

DATA_DIR = Path(env_str("STUDIO_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_q",
    "axes",
    "studio",
    # The development gateway stand-in, for `manage.py sandbox_gateway` (see sandbox/__init__.py).
    "sandbox",
]

MIDDLEWARE = [
    # First, so an oversized body is refused before anything reads it.
    "studio.middleware.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "studio.middleware.CurrentTeamMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into its page.
    "axes.middleware.AxesMiddleware",
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
                "studio.context_processors.studio",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'studio.sqlite3'}")
DATABASES: dict[str, dict[str, Any]] = {
    "default": dict(dj_database_url.parse(DATABASE_URL, conn_max_age=60)),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, for the test database too: the kill tests run real
    # worker processes against it.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test_studio.sqlite3")}
    # Web server and worker write to the same file: wait for the lock instead of
    # failing, take the write lock up front, and let readers run beside a writer.
    # Connections are kept between requests (CONN_MAX_AGE) as on PostgreSQL:
    # opening one and running its PRAGMAs cost more than a job card's query.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("TEST", {})["NAME"] = env_str(
        "STUDIO_TEST_DATABASE_NAME", "test_studio"
    )
    if env_bool("STUDIO_DB_PREPARED_STATEMENTS", True):
        # psycopg prepares a statement once a connection has run it twice, so
        # the queries every request repeats (session, user, a page's poll, the
        # gallery's) skip PostgreSQL's planner. Set 0 behind a pooler in
        # transaction mode that cannot keep prepared statements (PgBouncer < 1.21).
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=2
        )

DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Sessions live in the database so that signing out ends a session everywhere
# (a copied cookie stops working), and a password change signs other sessions out.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# django-axes' backend goes first: it refuses a locked-out sign-in before any
# password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STUDIO_STATIC_ROOT", str(DATA_DIR / "static"))).resolve()
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("STUDIO_MEDIA_ROOT", str(DATA_DIR / "media"))).resolve()

# Media on S3-compatible object storage (scaled mode; see "Media on S3" in the
# README). A bucket name switches the media storage to S3; static files stay
# with whitenoise either way.
STUDIO_S3_BUCKET = env_str("STUDIO_S3_BUCKET")
STUDIO_S3_ENDPOINT_URL = env_str("STUDIO_S3_ENDPOINT_URL").rstrip("/")
STUDIO_S3_REGION = env_str("STUDIO_S3_REGION", "us-east-1")
STUDIO_S3_ACCESS_KEY_ID = env_str("STUDIO_S3_ACCESS_KEY_ID")
STUDIO_S3_SECRET_ACCESS_KEY = env_str("STUDIO_S3_SECRET_ACCESS_KEY")
STUDIO_S3_PREFIX = env_str("STUDIO_S3_PREFIX").strip("/")
# "redirect": members get a 302 to a short-lived presigned URL and S3 serves the
# bytes (and ranges); "stream": Studio reads from S3 and streams to the browser.
STUDIO_S3_DELIVERY = env_str("STUDIO_S3_DELIVERY", "redirect").lower()
if STUDIO_S3_DELIVERY not in {"redirect", "stream"}:
    raise ImproperlyConfigured(
        "STUDIO_S3_DELIVERY must be 'redirect' (presigned URL) or 'stream' (through Studio), "
        f"not {STUDIO_S3_DELIVERY!r}"
    )
# How long a presigned media URL handed out by a redirect stays valid.
STUDIO_S3_URL_SECONDS = env_int("STUDIO_S3_URL_SECONDS", 300, minimum=10)


def s3_storage(
    *,
    bucket: str,
    endpoint_url: str,
    region: str,
    access_key_id: str,
    secret_access_key: str,
    prefix: str,
) -> dict[str, Any]:
    """The STORAGES entry for media on S3, after checking every value (raises ImproperlyConfigured).

    Also used by the tests, which point a fresh bucket on a loopback S3 at it.
    """
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket) or ".." in bucket:
        raise ImproperlyConfigured(
            f"STUDIO_S3_BUCKET must be an S3 bucket name (3-63 lower-case letters, digits, "
            f"dots and hyphens, starting and ending with a letter or digit), not {bucket!r}"
        )
    if endpoint_url:
        parsed = urlsplit(endpoint_url)
        if parsed.scheme not in {"http", "https"} or not parsed.hostname or parsed.path:
            raise ImproperlyConfigured(
                "STUDIO_S3_ENDPOINT_URL must be the service's address, like "
                f"https://s3.example.com or http://127.0.0.1:9000 (no path), not {endpoint_url!r}"
            )
    if not re.fullmatch(r"[a-z0-9-]{2,40}", region):
        raise ImproperlyConfigured(
            f"STUDIO_S3_REGION must be a region name such as us-east-1, not {region!r}"
        )
    if bool(access_key_id) != bool(secret_access_key):
        raise ImproperlyConfigured(
            "STUDIO_S3_ACCESS_KEY_ID and STUDIO_S3_SECRET_ACCESS_KEY go together: set both, or "
            "neither to use the machine's own credentials (instance role, AWS_* variables)"
        )
    if prefix and (".." in prefix.split("/") or not re.fullmatch(r"[A-Za-z0-9._/-]+", prefix)):
        raise ImproperlyConfigured(
            f"STUDIO_S3_PREFIX must be a folder name (letters, digits, . _ - /), not {prefix!r}"
        )
    return {
        "BACKEND": "studio.storage.MediaStorage",
        "OPTIONS": {
            "bucket_name": bucket,
            # Another service than AWS (MinIO, Ceph, a loopback test server) is
            # addressed by path; AWS by the bucket's own host name.
            "endpoint_url": endpoint_url or None,
            "addressing_style": "path" if endpoint_url else "virtual",
            "region_name": region,
            "access_key": access_key_id or None,
            "secret_key": secret_access_key or None,
            "location": prefix,
            "signature_version": "s3v4",
            # Never overwrite: two uploads of one name keep both, as on disk.
            "file_overwrite": False,
            "querystring_auth": True,
            "default_acl": None,
        },
    }


def s3_origin(bucket: str, endpoint_url: str, region: str) -> str:
    """Where presigned URLs point, for the Content-Security-Policy of redirect delivery."""
    if endpoint_url:
        parsed = urlsplit(endpoint_url)
        return f"{parsed.scheme}://{parsed.netloc}"
    return f"https://{bucket}.s3.{region}.amazonaws.com"


_S3_SETTINGS = {
    "STUDIO_S3_ENDPOINT_URL": STUDIO_S3_ENDPOINT_URL,
    "STUDIO_S3_ACCESS_KEY_ID": STUDIO_S3_ACCESS_KEY_ID,
    "STUDIO_S3_SECRET_ACCESS_KEY": STUDIO_S3_SECRET_ACCESS_KEY,
    "STUDIO_S3_PREFIX": STUDIO_S3_PREFIX,
}
if STUDIO_S3_BUCKET:
    MEDIA_STORAGE = s3_storage(
        bucket=STUDIO_S3_BUCKET,
        endpoint_url=STUDIO_S3_ENDPOINT_URL,
        region=STUDIO_S3_REGION,
        access_key_id=STUDIO_S3_ACCESS_KEY_ID,
        secret_access_key=STUDIO_S3_SECRET_ACCESS_KEY,
        prefix=STUDIO_S3_PREFIX,
    )
else:
    stray = [name for name, value in _S3_SETTINGS.items() if value]
    if stray:
        raise ImproperlyConfigured(
            f"{', '.join(stray)} {'is' if len(stray) == 1 else 'are'} set but STUDIO_S3_BUCKET "
            "is empty: set the bucket to keep media on S3, or clear the other STUDIO_S3_* "
            "variables to keep media on local disk"
        )
    MEDIA_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}

STORAGES = {
    "default": MEDIA_STORAGE,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if TESTING or DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Uploads of reference images are checked by content in forms; this only stops a
# request body from filling memory before the form sees it.
DATA_UPLOAD_MAX_MEMORY_SIZE = 60 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Security. Behind a TLS-terminating proxy set STUDIO_HTTPS=1 (see README).
HTTPS = env_bool("STUDIO_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("STUDIO_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("STUDIO_HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
STUDIO_BEHIND_PROXY = env_bool("STUDIO_BEHIND_PROXY", HTTPS)
if STUDIO_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Sign-in and headers (members). Sign-in attempts are counted per account and,
# separately, per client address (django-axes); either reaching the limit locks
# sign-in for that account or address until the lockout expires.
AXES_FAILURE_LIMIT = env_int("STUDIO_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("STUDIO_LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "studio.views.accounts.locked_out"
AXES_CLIENT_IP_CALLABLE = "studio.services.audit.client_address"
AXES_VERBOSE = False
# Media delivered by presigned redirect come from the bucket's origin.
_MEDIA_ORIGINS = (
    [s3_origin(STUDIO_S3_BUCKET, STUDIO_S3_ENDPOINT_URL, STUDIO_S3_REGION)]
    if STUDIO_S3_BUCKET and STUDIO_S3_DELIVERY == "redirect"
    else []
)
# Every page: our own scripts, styles and media only; no inline script or style
# (htmx's own indicator style is turned off by a meta tag in base.html).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "blob:", *_MEDIA_ORIGINS],
    "media-src": [CSP.SELF, "blob:", *_MEDIA_ORIGINS],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# A request body larger than this is refused from its Content-Length header,
# before any of it is read (the largest legitimate one is a library upload).
STUDIO_MAX_REQUEST_BYTES = env_int("STUDIO_MAX_REQUEST_BYTES", 100 * 1024 * 1024, minimum=1024)
# The first account (manage.py ensure_admin) and invitations.
STUDIO_ADMIN_USERNAME = env_str("STUDIO_ADMIN_USERNAME", "admin")
STUDIO_INVITATION_DAYS = env_int("STUDIO_INVITATION_DAYS", 7, minimum=1)

# Studio itself.
STUDIO_SIGNUP = env_bool("STUDIO_SIGNUP", True)
STUDIO_PUBLIC_URL = env_str("STUDIO_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
STUDIO_SIGNED_URL_MAX_AGE = env_int("STUDIO_SIGNED_URL_MAX_AGE", 6 * 3600, minimum=60)
STUDIO_MOUNTSEA_URL = env_str("STUDIO_MOUNTSEA_URL", "https://api.mountsea.ai").rstrip("/")
STUDIO_MOUNTSEA_KEY = env_str("STUDIO_MOUNTSEA_KEY")
STUDIO_OPENAI_VIDEOS_URL = env_str("STUDIO_OPENAI_VIDEOS_URL").rstrip("/")
STUDIO_OPENAI_VIDEOS_KEY = env_str("STUDIO_OPENAI_VIDEOS_KEY")
# How the key is sent to an OpenAI-format gateway: "bearer" (Authorization:
# Bearer KEY) or "raw" (Authorization: KEY, as the seed gateway documents).
STUDIO_OPENAI_VIDEOS_AUTH = env_str("STUDIO_OPENAI_VIDEOS_AUTH", "bearer").lower()
if STUDIO_OPENAI_VIDEOS_AUTH not in {"bearer", "raw"}:
    raise ImproperlyConfigured("STUDIO_OPENAI_VIDEOS_AUTH must be 'bearer' or 'raw'")
# Result downloads refuse loopback and private addresses unless allowed (the
# sandbox gateway runs on 127.0.0.1).
STUDIO_ALLOW_PRIVATE_URLS = env_bool("STUDIO_ALLOW_PRIVATE_URLS", False)
# Seconds to wait for a gateway's JSON answer (a create whose answer does not
# come in time has an unknown outcome and goes to needs_attention).
STUDIO_HTTP_READ_TIMEOUT = env_int("STUDIO_HTTP_READ_TIMEOUT", 30, minimum=1)
STUDIO_MAX_RESULT_BYTES = env_int("STUDIO_MAX_RESULT_BYTES", 512 * 1024 * 1024, minimum=1024)
# Largest total a project archive may unpack to on import (studio.services.archives).
STUDIO_ARCHIVE_MAX_BYTES = env_int("STUDIO_ARCHIVE_MAX_BYTES", 20 * 1024**3, minimum=1024)
# Credits per job, as "provider:model=credits" pairs overriding the built-in table.
STUDIO_COSTS = env_str("STUDIO_COSTS")
STUDIO_LOCAL_ENGINE = env_bool("STUDIO_LOCAL_ENGINE", True)
# /healthz reports the worker missing when its heartbeat (stamped every second
# or so) is older than this many seconds.
STUDIO_WORKER_HEARTBEAT_MAX_AGE = env_int("STUDIO_WORKER_HEARTBEAT_MAX_AGE", 30, minimum=1)
# Worker timing (seconds). A job left in `submitting` longer than the submit
# lease belonged to a worker that died: its outcome is unknown.
STUDIO_SUBMIT_LEASE = env_int("STUDIO_SUBMIT_LEASE", 120, minimum=1)
STUDIO_POLL_LEASE = env_int("STUDIO_POLL_LEASE", 60, minimum=1)
STUDIO_RENDER_LEASE = env_int("STUDIO_RENDER_LEASE", 900, minimum=1)
# A job handed to a task that has not started within this long is handed again
# (the first message, if it ever runs, then finds the job moved on).
STUDIO_DISPATCH_LEASE = env_int("STUDIO_DISPATCH_LEASE", 60, minimum=1)
STUDIO_MAX_SUBMIT_ATTEMPTS = env_int("STUDIO_MAX_SUBMIT_ATTEMPTS", 5, minimum=1)
STUDIO_POLL_THREADS = env_int("STUDIO_POLL_THREADS", 8, minimum=1)
STUDIO_DOWNLOAD_LEASE = env_int("STUDIO_DOWNLOAD_LEASE", 300, minimum=1)

# Moderation (issue 11). The prompt blocklist is entries separated by newlines
# or ";"; an entry written /like this/ is a regular expression, any other a
# whole word; staff add more in the review queue. Media responses may be kept
# by the browser this many seconds, so hidden media does not linger.
STUDIO_PROMPT_BLOCKLIST = env_str("STUDIO_PROMPT_BLOCKLIST")
STUDIO_REPORTS_PER_HOUR = env_int("STUDIO_REPORTS_PER_HOUR", 10, minimum=1)
STUDIO_MEDIA_MAX_AGE = env_int("STUDIO_MEDIA_MAX_AGE", 300, minimum=0)

# django-q2. The job row, not the broker, is the retry mechanism: a lost or
# repeated message costs one idempotent sweep, never a double submission.
BROKER_URL = env_str("STUDIO_BROKER_URL")
Q_CLUSTER: dict[str, Any] = {
    "name": "studio",
    "workers": env_int("STUDIO_WORKERS", 3, minimum=2),
    "recycle": 500,
    # A task never runs longer than `timeout`; `retry` is later, so a running
    # task is never delivered a second time. The exception is a local render,
    # sent with its own timeout (the render lease): its claim token makes a
    # second delivery do nothing (studio/jobs/dispatch.py).
    "timeout": 90,
    "retry": 120,
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 500,
    "queue_limit": 50,
    "label": "Task queue",
    "log_level": "WARNING",
}
if BROKER_URL.startswith("redis://") or BROKER_URL.startswith("rediss://"):
    Q_CLUSTER["redis"] = BROKER_URL
else:
    Q_CLUSTER["orm"] = "default"

# manage.py serve (make run): gunicorn and the worker side by side.
STUDIO_SERVE_HOST = env_str("HOST", "127.0.0.1")
STUDIO_SERVE_PORT = env_int("PORT", 8000, minimum=1)
STUDIO_WEB_WORKERS = env_int("WEB_WORKERS", 2, minimum=1)
# Each web process serves WEB_THREADS requests at once (config/gunicorn_worker.py):
# a slow upload or download holds one thread, not the process.
STUDIO_WEB_THREADS = env_int("WEB_THREADS", 8, minimum=1)
# Seconds an idle kept-alive connection stays open; the whole request head must
# arrive within WEB_HEADER_TIMEOUT; each read or write of a request in progress
# must move within WEB_IDLE_TIMEOUT. A client slower than that is disconnected.
STUDIO_WEB_KEEPALIVE = env_int("WEB_KEEPALIVE", 5, minimum=1)
STUDIO_WEB_HEADER_TIMEOUT = env_int("WEB_HEADER_TIMEOUT", 10, minimum=1)
STUDIO_WEB_IDLE_TIMEOUT = env_int("WEB_IDLE_TIMEOUT", 30, minimum=1)
# `manage.py worker` processes serve starts; each runs the scheduler and its own
# django-q2 cluster of STUDIO_WORKERS. Claims are per job row, so any number is safe.
STUDIO_WORKER_PROCESSES = env_int("STUDIO_WORKER_PROCESSES", 1, minimum=1)
# Gunicorn's access log: "-" for stdout, a file path, or "off".
STUDIO_ACCESS_LOG = env_str("STUDIO_ACCESS_LOG", "-")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django-q": {"level": "WARNING"},
        "django_q": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
