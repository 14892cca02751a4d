"""The peer: a small django-allauth site doing loginguard's sign-in job — a password, then a
6-digit code emailed on every login (ACCOUNT_LOGIN_BY_CODE_REQUIRED) — with loginguard's
Argon2id parameters, on SQLite, served by gunicorn (allauth's usual deployment). Runs in its
own venv (.venv-peer, bench/peer/requirements.txt); bench/signin_peer.py starts it."""

import os
from pathlib import Path

VAR_DIR = Path(os.environ["PEER_VAR_DIR"])
SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "allauth",
    "allauth.account",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]
ROOT_URLCONF = "bench.peer.site.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [Path(__file__).parent / "templates"],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": VAR_DIR / "peer.sqlite3",
    # The same SQLite settings as loginguard's, so only the application differs.
    "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
}}
AUTHENTICATION_BACKENDS = ["allauth.account.auth_backends.AuthenticationBackend"]
PASSWORD_HASHERS = ["bench.peer.site.hashers.SameArgon2"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_REQUIRED = True
ACCOUNT_LOGIN_BY_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
LOGIN_REDIRECT_URL = "/"

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ["PEER_SMTP_PORT"])
DEFAULT_FROM_EMAIL = "peer@bench.example"

# allauth's rate limits stay on (their checks are part of the work) with the per-IP ones
# raised: every simulated browser comes from 127.0.0.1. The per-user ones keep defaults.
ACCOUNT_RATE_LIMITS = {
    "login": "100000/m/ip",
    "login_failed": "100000/m/ip,5/300s/key",
    "request_login_code": "100000/m/ip,3/m/key",
}
