"""The one settings module. Every value an operator may change comes from the
environment (SPEC §8) through the strict parsers in ``lib.env``; a bad value stops
start-up with a message naming the variable."""

from __future__ import annotations

import os
import secrets
import sys
import warnings
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from loginguard.lib.env import Env
from loginguard.users.validators import MAX_PASSWORD

env = Env()

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(env.text("LOGINGUARD_VAR_DIR") or Path.cwd() / "var")

DEBUG = env.flag("DEBUG", False)
TESTING = "pytest" in sys.modules

_secret = env.text("SECRET_KEY")
if _secret is None:
    if not DEBUG and not TESTING:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production (DEBUG off) refuses to start without it: "
            "generate one with  python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    # Development only: a per-process key means sessions don't survive a restart.
    if not TESTING:
        warnings.warn("SECRET_KEY is not set; using a random key for this process.",
                      stacklevel=1)
    _secret = secrets.token_urlsafe(50)
elif len(_secret) < 32:
    raise ImproperlyConfigured("SECRET_KEY is too short: use at least 32 random characters.")
SECRET_KEY: str = _secret
# Rotation (docs/operations.md "Rotating SECRET_KEY"): the previous keys, newest first,
# still accepted for what they signed (sessions, reset and invitation links) but never
# used to sign anything new.
SECRET_KEY_FALLBACKS = env.csv("SECRET_KEY_FALLBACKS", [])
if any(len(key) < 32 for key in SECRET_KEY_FALLBACKS):
    raise ImproperlyConfigured(
        "SECRET_KEY_FALLBACKS has a key shorter than 32 characters: list the old keys "
        "exactly as they were, separated by commas.")

BASE_URL = env.url("BASE_URL", "http://localhost:8000", schemes=("http", "https"))
ALLOWED_HOSTS = env.csv("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
TRUSTED_PROXIES = env.networks("TRUSTED_PROXIES")
SECURE_COOKIES = env.flag("SECURE_COOKIES", True)
# Forward auth (SPEC §12, docs/forward-auth.md): the hosts a reverse proxy guards with
# /auth/forward, the only ones /login/?next= returns to; and the parent domain the
# session cookie is shared with, when they are not served under loginguard's own host.
FORWARD_AUTH_HOSTS = env.hosts("FORWARD_AUTH_HOSTS")
SESSION_COOKIE_DOMAIN = env.cookie_domain("SESSION_COOKIE_DOMAIN")
# Passkeys (SPEC §14, docs/security.md): the WebAuthn relying party is BASE_URL's host
# unless this names a parent domain of it (passkeys then work on its sibling hosts too).
# An IP address cannot be one: with an IP BASE_URL, passkeys are unavailable (`check`).
WEBAUTHN_RP_ID = env.rp_id("WEBAUTHN_RP_ID", BASE_URL)
REDIS_URL = env.raw("REDIS_URL")
if REDIS_URL is not None:
    REDIS_URL = env.url("REDIS_URL", "", schemes=("redis", "rediss", "unix"))

# Demo mode: `make run` points this at the Maildir its local SMTP sink writes to, which
# mounts /dev/mailbox/. Unset in production, where the route does not exist at all.
DEV_MAILBOX_DIR = env.text("DEV_MAILBOX_DIR")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "loginguard.web",
    "loginguard.tenancy",
    "loginguard.users",
    "loginguard.audit",
    "loginguard.emails",
    "loginguard.throttle",
    "loginguard.codes",
    "loginguard.devices",
    "loginguard.factors",
    "loginguard.signin",
    "loginguard.apitokens",
    "loginguard.security",
    "loginguard.record",
    "loginguard.gateway",
    "loginguard.forwardauth",
    "loginguard.api",
    "ninja",
    "oauth2_provider",
    "loginguard.sso",
    "loginguard.ops",
]

MIDDLEWARE = [
    "loginguard.web.middleware.AccessLogMiddleware",
    "loginguard.web.middleware.HealthCheckMiddleware",
    "loginguard.web.middleware.UntrustedForwardedHeadersMiddleware",
    "loginguard.forwardauth.middleware.ForwardAuthMiddleware",  # before the heavy stack
    "loginguard.apitokens.middleware.BearerPrecheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "loginguard.web.middleware.ContentSecurityPolicyMiddleware",
    "loginguard.web.middleware.ApiJsonErrorsMiddleware",
    # Pages only: the cookie-free API skips these (loginguard/web/browser.py).
    "loginguard.web.browser.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "loginguard.web.browser.CsrfViewMiddleware",
    "loginguard.web.browser.AuthenticationMiddleware",
    "loginguard.web.browser.MessageMiddleware",
    "loginguard.web.browser.SessionBindingMiddleware",
    "loginguard.web.browser.EnrollmentGate",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "loginguard.urls"
WSGI_APPLICATION = "loginguard.wsgi.application"

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
    "default": env.database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'loginguard.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL + a busy timeout let the web server and the worker share one SQLite file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Django's supported switches for psycopg 3: parameters bound on the server, and each
    # statement run 5 times on a connection prepared once (no planning per request on the
    # hot paths). Behind PgBouncer this needs its prepared-statement support (1.21+,
    # `max_prepared_statements`); see docs/operations.md.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": 5})
# Keep connections between requests (re-opening one costs more than most requests).
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# `loginguard check --deploy`, each silenced with its reason:
SILENCED_SYSTEM_CHECKS = [
    # W003 looks for django.middleware.csrf.CsrfViewMiddleware by name; ours is that very
    # class, wrapped to skip the cookie-free API (web/browser.py), so every page has it.
    "security.W003",
    # W008 (SECURE_SSL_REDIRECT): TLS ends at the reverse proxy, which redirects http to
    # https (docs/operations.md); redirecting here too would send the proxy's and load
    # balancer's plain-http health checks (/healthz, /readyz) away.
    "security.W008",
    # W021 (SECURE_HSTS_PRELOAD): joining the browsers' preload list is a commitment for
    # the whole domain that only its owner can make; HSTS itself is on.
    "security.W021",
    # oauth2_provider.W008 ('http' in ALLOWED_REDIRECT_URI_SCHEMES): native apps' loopback
    # redirects (http://127.0.0.1:PORT/, RFC 8252 §7.3) need it, as the toolkit's own hint
    # says; which redirect URIs an app may register is decided at registration, where http
    # is taken only for those loopback addresses (and in a plain-http demo): sso/uris.py.
    "oauth2_provider.W008",
]

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL}}
else:
    # Nothing security-relevant is cached: throttles and sessions live in the database.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = ["loginguard.signin.backend.LoginguardBackend"]
LOGIN_URL = "/login/"

# SPEC §9: Argon2id with m=19 MiB, t=2, p=1 first; PBKDF2 still verifies (and upgrades).
PASSWORD_HASHERS = [
    "loginguard.users.hashers.LoginguardArgon2Hasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "loginguard.users.hashers.RandomSecretHasher",  # OAuth client secrets only
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "loginguard.users.validators.MaximumLengthValidator",
     "OPTIONS": {"max_length": MAX_PASSWORD}},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
     "OPTIONS": {"user_attributes": ("username", "first_name", "last_name", "email")}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "loginguard.users.validators.TenantNameValidator"},
]

SESSION_ENGINE = "loginguard.signin.session_store"
# SECURE_COOKIES: the __Host- prefix (Secure, whole host, no Domain), so a sibling subdomain
# or a plain-http response can never plant or overwrite these cookies.
COOKIE_PREFIX = "__Host-" if SECURE_COOKIES else ""
# A session cookie shared with a parent domain cannot be __Host- (that prefix forbids a
# Domain); it keeps __Secure- (HTTPS only).
SESSION_COOKIE_NAME = (f"{COOKIE_PREFIX}lg_session" if SESSION_COOKIE_DOMAIN is None
                       else f"{'__Secure-' if SECURE_COOKIES else ''}lg_session")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_AGE = 12 * 3600  # the server enforces idle/absolute limits itself
CSRF_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_NAME = f"{COOKIE_PREFIX}lg_csrf"
CSRF_FAILURE_VIEW = "loginguard.web.views.csrf_failure"  # a page that says what to do
# Flash messages (which can name devices) live in the session, never in a cookie of their
# own: such a cookie would take SESSION_COOKIE_DOMAIN and reach every guarded app.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
CSRF_TRUSTED_ORIGINS = [BASE_URL]
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_HSTS_SECONDS = 31536000 if SECURE_COOKIES else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_COOKIES
# The proxy (if any) terminates TLS; it must set X-Forwarded-Proto for HTTPS to be seen.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None
# form-action also governs where a form's redirects may go: the last sign-in step
# redirects to the guarded app the browser came from (FORWARD_AUTH_HOSTS).
_FORM_TARGETS = " ".join(["'self'", *(
    f"{'https://' if SECURE_COOKIES else ''}{'*' if host.startswith('.') else ''}{host}:*"
    for host in FORWARD_AUTH_HOSTS)])
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    f"font-src 'self'; connect-src 'self'; form-action {_FORM_TARGETS}; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env.text("EMAIL_HOST", "localhost")
EMAIL_PORT = env.number("EMAIL_PORT", 25, min_value=1)
EMAIL_HOST_USER = env.text("EMAIL_HOST_USER", "") or ""
EMAIL_HOST_PASSWORD = env.text("EMAIL_HOST_PASSWORD", "") or ""
EMAIL_USE_TLS = env.flag("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env.text("DEFAULT_FROM_EMAIL", "loginguard <no-reply@localhost>")
# Failed deliveries are retried with exponential backoff, then recorded as failed.
# Metrics (lib/metrics.py): /metrics exists only with a token, which Prometheus sends as
# `Authorization: Bearer <token>`. Several processes add up through files in one
# directory (prometheus-client's multiprocess mode), set up before anything counts.
METRICS_TOKEN = env.text("METRICS_TOKEN")
if METRICS_TOKEN is not None and len(METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("METRICS_TOKEN is too short: use at least 16 random characters.")
if METRICS_TOKEN and not os.environ.get("PROMETHEUS_MULTIPROC_DIR") and not TESTING:
    _metrics_dir = VAR_DIR / "metrics"
    _metrics_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics_dir)

# Housekeeping (ops/housekeeping.py): how long the security log is kept, and how often the
# workers sweep (0: never; then run `loginguard housekeeping` from cron).
AUDIT_RETENTION_DAYS = env.number("AUDIT_RETENTION_DAYS", 400, min_value=1, max_value=36500)
HOUSEKEEPING_INTERVAL_MINUTES = env.number("HOUSEKEEPING_INTERVAL_MINUTES", 60,
                                           max_value=7 * 24 * 60)
# /readyz reports the email queue as not ready when a message has waited longer than this
# (seconds; 0 leaves the queue out of readiness). See docs/operations.md.
READYZ_EMAIL_QUEUE_MAX_AGE = env.number("READYZ_EMAIL_QUEUE_MAX_AGE", 900,
                                        max_value=7 * 24 * 3600)
EMAIL_MAX_ATTEMPTS = 8
EMAIL_RETRY_BASE_SECONDS = 15

# Single sign-on (SPEC §11, docs/sso.md): loginguard is an OpenID Connect provider on
# django-oauth-toolkit. ID and logout tokens are signed RS256 with the key in
# OIDC_PRIVATE_KEY_FILE; OIDC_PUBLISHED_KEY_FILES are published in the JWKS without signing
# (the next key before a rotation, the previous one after it).
OIDC_PRIVATE_KEY_FILE = env.text("OIDC_PRIVATE_KEY_FILE")
OIDC_PUBLISHED_KEY_FILES = env.csv("OIDC_PUBLISHED_KEY_FILES", [])
SSO_ISSUER = env.url("SSO_ISSUER", BASE_URL, schemes=("http", "https"))


def _pem(name: str, path: str) -> str:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"{name}={path!r} cannot be read ({exc.strerror}). Point it at a PEM RSA "
            "private key the loginguard user can read (docs/sso.md shows how to make one)."
        ) from None
    if "PRIVATE KEY-----" not in text:
        raise ImproperlyConfigured(
            f"{name}={path!r} does not hold a PEM private key (-----BEGIN PRIVATE KEY-----).")
    return text


OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"  # the toolkit's own
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": _pem("OIDC_PRIVATE_KEY_FILE", OIDC_PRIVATE_KEY_FILE)
    if OIDC_PRIVATE_KEY_FILE else "",
    "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [_pem("OIDC_PUBLISHED_KEY_FILES", path)
                                       for path in OIDC_PUBLISHED_KEY_FILES],
    "OIDC_ISS_ENDPOINT": SSO_ISSUER,
    "OAUTH2_VALIDATOR_CLASS": "loginguard.sso.validator.LoginguardValidator",
    "SCOPES": {
        "openid": "Sign you in",
        "profile": "Your name, username and time zone",
        "email": "Your email address",
        "account": "Your client account, role and reseller",
    },
    "DEFAULT_SCOPES": ["openid"],
    # Client secrets are 384 random bits: a fast salted hash (users.hashers).
    "CLIENT_SECRET_HASHER": "sha256_random",
    # PKCE (S256) for every client, confidential ones too (RFC 9700 §2.1.1).
    "PKCE_REQUIRED": True,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 600,
    "ID_TOKEN_EXPIRE_SECONDS": 600,
    # A refresh token lives as long as the session it came from (12 hours at most): the
    # session's end revokes it; this is the backstop.
    "REFRESH_TOKEN_EXPIRE_SECONDS": 12 * 3600,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REQUEST_APPROVAL_PROMPT": "force",
    # Which redirect URIs an app may register is decided at registration (sso.uris:
    # https, or http in the demo and for native apps' loopback redirects, RFC 8252); the
    # toolkit then only ever redirects to a registered URI, matched exactly.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],
    # Only the authorization code flow: discovery advertises nothing /o/authorize refuses.
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    # Ending the session revokes exactly that session's tokens (sso.sessions); the
    # toolkit's own sweep would take every token of the user.
    "OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS": False,
    "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": ["client_secret_basic",
                                                  "client_secret_post", "none"],
    # RFC 9700: no implicit or password grant, S256 only, no token in a query string,
    # `iss` in the authorization response, tokens stored as hashes.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
}
# Back-channel logout (sso/backchannel.py): each POST's timeout, and the retries.
BACKCHANNEL_TIMEOUT_SECONDS = 5
BACKCHANNEL_MAX_ATTEMPTS = 8
BACKCHANNEL_RETRY_BASE_SECONDS = 10

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "email", "sso"],
    }
}

NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 100

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# LOG_FORMAT: "text" (a line for people) or "json" (one object per line for a log
# pipeline); LOG_LEVEL: DEBUG, INFO (default), WARNING, ERROR. Everything goes to stderr.
LOG_FORMAT = env.choice("LOG_FORMAT", "text", ("text", "json"))
LOG_LEVEL = env.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"),
                       upper=True)
LOGGING_CONFIG = "loginguard.web.logs.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
                   "json": {"()": "loginguard.web.logs.JsonFormatter"}},
    "filters": {"drop_api_refusals": {"()": "loginguard.web.logs.DropApiRefusals"},
                "drop_outage_repeats": {"()": "loginguard.web.logs.DropOutageRepeats"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"},
                "django.request": {"filters": ["drop_api_refusals",
                                                "drop_outage_repeats"]},
                # One line per request (web.middleware.AccessLogMiddleware); the tests
                # read it through caplog, so it propagates to the root handler.
                "loginguard.access": {"level": LOG_LEVEL}},
}
