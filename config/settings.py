"""Knotwork settings. Everything that differs between machines comes from the environment;
`.env.example` lists every variable. A bad value stops start-up with the variable named."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    audit_keys,
    env_amount,
    env_amounts,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    field_encryption_keys,
    secret_key,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("KNOTWORK_VAR_DIR") or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = secret_key(VAR_DIR, debug=DEBUG)
# Keys for clinical text encrypted at rest (knotwork.lib.crypto); the first encrypts, all decrypt.
FIELD_ENCRYPTION_KEYS = field_encryption_keys(VAR_DIR, debug=DEBUG)
# The audit chain is an HMAC under these keys (never stored in the database), and its heads are
# checkpointed to an append-only file outside it (knotwork/audit/services.py).
AUDIT_KEYS = audit_keys(VAR_DIR, debug=DEBUG)
AUDIT_CHECKPOINT_FILE = Path(env_str("AUDIT_CHECKPOINT_FILE") or VAR_DIR / "audit-checkpoints.log")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "template_partials",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "knotwork.accounts",
    "knotwork.audit",
    "knotwork.clients",
    "knotwork.atlas",
    "knotwork.assessment",
    "knotwork.care",
    "knotwork.bookings",
    "knotwork.billing",
    "knotwork.directory",
    "knotwork.messaging",
    "knotwork.learn",
    "knotwork.outcomes",
    "knotwork.interop",
    "knotwork.lib",
    "knotwork.pwa",
    "knotwork.video",
]

MIDDLEWARE = [
    "knotwork.lib.middleware.EdgeMiddleware",
    "knotwork.lib.middleware.RequestContextMiddleware",
    "knotwork.lib.middleware.RejectNulMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "knotwork.accounts.middleware.ClinicMiddleware",
    "knotwork.accounts.middleware.StaffSessionMiddleware",
    "knotwork.accounts.middleware.RequireStaffMfaMiddleware",
    "knotwork.accounts.middleware.UserLanguageMiddleware",
    "knotwork.pwa.middleware.ClearSiteDataMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "knotwork.accounts.context_processors.clinic",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'knotwork.sqlite3'}"
try:
    # PostgreSQL connections are kept between requests by default: opening one costs a backend
    # process and an authentication round trip on every request (measured in docs/performance.md).
    _keep = 60 if DATABASE_URL.startswith(("postgres://", "postgresql://")) else 0
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", _keep, minimum=0), conn_health_checks=True)
except Exception as exc:  # dj-database-url raises several types for a malformed URL
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if _db["ENGINE"] not in ("django.db.backends.sqlite3", "django.db.backends.postgresql"):
    raise ImproperlyConfigured("DATABASE_URL must be a sqlite:// or postgres:// URL")
if _db["ENGINE"] == "django.db.backends.sqlite3":
    if _db["NAME"] not in ("", ":memory:"):
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    _db["OPTIONS"] = {
        # IMMEDIATE takes the write lock when a transaction starts, so two writers queue instead of
        # one failing with "database is locked" when it upgrades a read lock.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (shared between processes: login rate limits and one-time-code replay guards) ---
CACHE_URL = env_str("CACHE_URL", "db")
if CACHE_URL == "db":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "knotwork_cache"}}
elif CACHE_URL == "locmem":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
elif CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
else:
    raise ImproperlyConfigured("CACHE_URL must be 'db', 'locmem' or a redis:// URL")

# --- Accounts ---------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env_choice(
    "ACCOUNT_EMAIL_VERIFICATION", "mandatory", {"mandatory": "mandatory", "optional": "optional", "none": "none"}
)
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_RATE_LIMITS = {
    "login_failed": "5/5m/ip,5/5m/key",
    "login": "30/m/ip",
    "signup": "20/m/ip",
    "reset_password": "5/m/ip,3/m/key",
    "confirm_email": "1/3m/key",
}
# allauth's e-mails name Knotwork and link to SITE_URL (no Sites framework; knotwork/lib/mail.py).
ACCOUNT_ADAPTER = "knotwork.lib.mail.AccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Knotwork] "
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_TOTP_ISSUER = "Knotwork"
# Passkeys (docs/security.md, "Passkeys"): always a second factor; signing in with a passkey alone
# is a per-installation choice, off unless KNOTWORK_PASSKEY_LOGIN is set.
MFA_PASSKEY_LOGIN_ENABLED = env_bool("KNOTWORK_PASSKEY_LOGIN", False)
# The browser's origin is always checked against the host. fido2 already accepts http://localhost
# (a secure context for browsers), and browsers refuse WebAuthn on http://127.0.0.1 or any other
# plain-http host whatever the server allows, so switching the check off would gain nothing.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = False

# Sessions: staff sessions end after 30 idle minutes (StaffSessionMiddleware); every session ends
# after 12 hours whatever its activity.
SESSION_COOKIE_AGE = env_int("SESSION_ABSOLUTE_SECONDS", 12 * 3600, minimum=300)
STAFF_IDLE_TIMEOUT = timedelta(seconds=env_int("STAFF_IDLE_SECONDS", 30 * 60, minimum=60))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE = env_bool("KNOTWORK_SECURE", not DEBUG and SITE_URL.startswith("https://"))
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE and env_bool("SECURE_SSL_REDIRECT", True)
# Health probes (/healthz, /readyz) are answered over plain HTTP by knotwork.lib.middleware.EdgeMiddleware,
# before the HTTPS redirect and host checks; no redirect exemption is needed.
# The largest request body accepted at all (413 before reading): three 10 MB attachments and the form.
MAX_REQUEST_BYTES = env_int("MAX_REQUEST_BYTES", 32 * 1024 * 1024, minimum=1024 * 1024)
SECURE_HSTS_SECONDS = 31536000 if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# How many reverse proxies in front of the app append to X-Forwarded-For (0 = use REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=5)
# django-ninja's rate limits must identify callers the same way: without this they would trust
# whatever X-Forwarded-For a caller sends.
NINJA_NUM_PROXIES = TRUSTED_PROXY_COUNT
PERMISSIONS_POLICY = "camera=(self), microphone=(), geolocation=(self), payment=()"

# --- Content Security Policy (django-csp 4): nothing inline without a nonce, nothing remote ---
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", NONCE],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# Video consultations (docs/video.md): the STUN/TURN servers handed to the browsers, as a JSON list
# of RTCIceServer objects ({"urls": [...], "username", "credential"}). Empty: direct connections
# only (same network, or loopback in tests); a TURN server (coturn) is needed across most NATs.
WEBRTC_ICE_SERVERS = env_str("WEBRTC_ICE_SERVERS", "[]")


# --- Online card payments (Stripe): on when all three keys are set -----------------------------
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
# Where the Stripe API is reached; the tests point it at localstripe on loopback.
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/")
# Where pages that take a card load Stripe.js; only those pages widen the Content-Security-Policy,
# by this script's origin and STRIPE_API_BASE's (knotwork/billing/stripejs.py).
STRIPE_JS_URL = env_str("STRIPE_JS_URL", "https://js.stripe.com/v3/")

# --- Email ------------------------------------------------------------------------------------
EMAIL_BACKEND = env_choice(
    "EMAIL_BACKEND",
    "console",
    {
        "console": "django.core.mail.backends.console.EmailBackend",
        "smtp": "django.core.mail.backends.smtp.EmailBackend",
        "file": "django.core.mail.backends.filebased.EmailBackend",
        "memory": "django.core.mail.backends.locmem.EmailBackend",
    },
)
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Knotwork <no-reply@knotwork.invalid>")

# --- Text messages (knotwork/bookings/sms.py) -------------------------------------------------
# Which gateway sends reminder texts: log (default: writes a masked line, sends nothing), twilio,
# http (a generic JSON gateway) or the dotted path of a class of your own.
KNOTWORK_SMS_SENDER = env_str("KNOTWORK_SMS_SENDER", "log")
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")  # also the key that signs Twilio's callbacks
TWILIO_FROM = env_str("TWILIO_FROM")  # an E.164 number or a messaging service's sender
TWILIO_API_BASE = env_str("TWILIO_API_BASE", "https://api.twilio.com").rstrip("/")
SMS_HTTP_URL = env_str("SMS_HTTP_URL")
SMS_HTTP_TOKEN = env_str("SMS_HTTP_TOKEN")
SMS_CONNECT_TIMEOUT = env_int("SMS_CONNECT_TIMEOUT", 5, minimum=1, maximum=60)  # seconds
SMS_READ_TIMEOUT = env_int("SMS_READ_TIMEOUT", 15, minimum=1, maximum=120)  # seconds
SMS_MAX_ATTEMPTS = env_int("SMS_MAX_ATTEMPTS", 3, minimum=1, maximum=6)
SMS_RETRY_BACKOFF = env_int("SMS_RETRY_BACKOFF_MS", 500, minimum=0, maximum=30_000) / 1000  # seconds, doubled per retry
# No reminder texts in these clinic-local hours ("21:00-08:00"; empty: any time); a text that
# falls due inside them waits for the end of the quiet period. E-mail is not held back.
SMS_QUIET_HOURS = env_str("SMS_QUIET_HOURS", "21:00-08:00")
if SMS_QUIET_HOURS and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", SMS_QUIET_HOURS):
    raise ImproperlyConfigured(f"SMS_QUIET_HOURS must look like 21:00-08:00 (or be empty), not {SMS_QUIET_HOURS!r}")

# --- Background tasks -------------------------------------------------------------------------
TASKS = {"default": {"BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}

# --- Static and media -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": env_str("STATICFILES_STORAGE", "whitenoise.storage.CompressedManifestStaticFilesStorage")},
}

# --- Locale -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# What clients see is offered in these; staff pages stay English (docs/i18n.md). No URL prefixes:
# the language comes from the signed-in user's saved choice, else the cookie, else Accept-Language.
LANGUAGES = [("en", "English"), ("es", "Español"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- Knotwork ---------------------------------------------------------------------------------
KNOTWORK_REQUIRE_MFA = env_bool("KNOTWORK_REQUIRE_MFA", True)
API_MAX_PAGE_SIZE = 100
# The currency a clinic's billing starts in (ISO 4217); each clinic can change its own.
KNOTWORK_CURRENCY = env_str("KNOTWORK_CURRENCY", "GBP")
# `knotwork audit verify` fails when an audit row has waited longer than this (seconds) to be sealed.
AUDIT_UNSEALED_MAX_AGE = env_int("AUDIT_UNSEALED_MAX_AGE", 300, minimum=10)
# Gift cards sold online: the suggested values, and the range a custom value must fall in, in each
# clinic's currency (docs/money.md, "Buying online"); how many orders one address or login may
# place an hour, and how many codes one may look up a minute.
GIFT_CARD_AMOUNTS = env_amounts("GIFT_CARD_AMOUNTS", "25,50,100")
GIFT_CARD_MIN_AMOUNT = env_amount("GIFT_CARD_MIN_AMOUNT", "10")
GIFT_CARD_MAX_AMOUNT = env_amount("GIFT_CARD_MAX_AMOUNT", "500")
if Decimal(GIFT_CARD_MIN_AMOUNT) > Decimal(GIFT_CARD_MAX_AMOUNT):
    raise ImproperlyConfigured("GIFT_CARD_MIN_AMOUNT must not be above GIFT_CARD_MAX_AMOUNT")
SHOP_ORDERS_PER_HOUR = env_int("SHOP_ORDERS_PER_HOUR", 10, minimum=1)
GIFT_CARD_LOOKUPS_PER_MINUTE = env_int("GIFT_CARD_LOOKUPS_PER_MINUTE", 10, minimum=1)

# --- Logging: request ids on every line; never request bodies, cookies or tokens -------------
LOG_LEVEL = env_choice("LOG_LEVEL", "info", {"debug": "DEBUG", "info": "INFO", "warning": "WARNING", "error": "ERROR"})
_SENDERS_MISTAKES = ("RequestDataTooBig", "TooManyFieldsSent", "TooManyFilesSent")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request": {"()": "knotwork.lib.logging.RequestIdFilter"},
        "redact": {"()": "knotwork.lib.logging.RedactSecretsFilter"},
        "no_traceback": {"()": "knotwork.lib.logging.NoTracebackFilter"},
    },
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request", "redact"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # An oversized or over-full request is the sender's mistake: one line, no traceback.
        **{f"django.security.{name}": {"filters": ["no_traceback"]} for name in _SENDERS_MISTAKES},
    },
}

# --- Installable portal and Web Push (docs/pwa.md) ---------------------------------------------
# Push is on when both VAPID keys are set (`knotwork push-keys` prints a pair).
WEB_PUSH_VAPID_PUBLIC_KEY = env_str("WEB_PUSH_VAPID_PUBLIC_KEY", "")
WEB_PUSH_VAPID_PRIVATE_KEY = env_str("WEB_PUSH_VAPID_PRIVATE_KEY", "")
WEB_PUSH_SUBJECT = env_str("WEB_PUSH_SUBJECT", "")
# Hosts (and their subdomains) of the push services browsers use; only these are ever called.
WEB_PUSH_ENDPOINT_HOSTS = env_list(
    "WEB_PUSH_ENDPOINT_HOSTS",
    ["fcm.googleapis.com", "push.services.mozilla.com", "notify.windows.com", "push.apple.com"],
)
WEB_PUSH_ALLOW_LOOPBACK = False  # tests only: admits http://127.0.0.1 endpoints
