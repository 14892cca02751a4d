from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest
from django.core.exceptions import ImproperlyConfigured

from loginguard.lib.env import Env


@pytest.mark.parametrize(("name", "value", "call"), [
    ("EMAIL_PORT", "abc", lambda e: e.number("EMAIL_PORT", 25)),
    ("EMAIL_PORT", "70000", lambda e: e.number("EMAIL_PORT", 25)),
    ("DEBUG", "maybe", lambda e: e.flag("DEBUG", False)),
    ("TRUSTED_PROXIES", "10.0.0.0/8,not-an-ip", lambda e: e.networks("TRUSTED_PROXIES")),
    ("DATABASE_URL", "mysql://x@y/z", lambda e: e.database("DATABASE_URL", "sqlite:///x")),
    ("DATABASE_URL", "postgres://host:5432", lambda e: e.database("DATABASE_URL", "sqlite:///x")),
    ("DATABASE_URL", "postgres://h:notaport/db", lambda e: e.database("DATABASE_URL", "x")),
    ("BASE_URL", "example.com", lambda e: e.url("BASE_URL", "", schemes=("http", "https"))),
    # Passkeys: BASE_URL's host or a parent domain of it, nothing else (SPEC §14).
    ("WEBAUTHN_RP_ID", "other.example", lambda e: e.rp_id("WEBAUTHN_RP_ID",
                                                          "https://login.example.com")),
    ("WEBAUTHN_RP_ID", "ample.com", lambda e: e.rp_id("WEBAUTHN_RP_ID",
                                                      "https://login.example.com")),
    ("WEBAUTHN_RP_ID", "https://example.com", lambda e: e.rp_id("WEBAUTHN_RP_ID",
                                                                "https://example.com")),
])
def test_bad_value_names_the_variable(name: str, value: str, call: object) -> None:
    with pytest.raises(ImproperlyConfigured, match=name):
        call(Env({name: value}))  # type: ignore[operator]


def test_webauthn_rp_id_is_the_host_or_a_parent_domain() -> None:
    base = "https://login.example.com"
    assert Env({"WEBAUTHN_RP_ID": "example.com"}).rp_id("WEBAUTHN_RP_ID", base) == \
        "example.com"
    assert Env({"WEBAUTHN_RP_ID": "Login.Example.com"}).rp_id("WEBAUTHN_RP_ID", base) == \
        "login.example.com"
    assert Env({}).rp_id("WEBAUTHN_RP_ID", base) is None  # BASE_URL's host, then


def test_good_values_parse() -> None:
    env = Env({"DEBUG": "true", "EMAIL_PORT": "2525", "TRUSTED_PROXIES": "10.0.0.0/8, ::1",
               "DATABASE_URL": "postgres://u:p@db.internal:5433/lg"})
    assert env.flag("DEBUG", False) is True
    assert env.number("EMAIL_PORT", 25) == 2525
    assert [str(n) for n in env.networks("TRUSTED_PROXIES")] == ["10.0.0.0/8", "::1/128"]
    db = env.database("DATABASE_URL", "sqlite:///x")
    assert (db["ENGINE"], db["HOST"], db["PORT"], db["NAME"]) == (
        "django.db.backends.postgresql", "db.internal", 5433, "lg")


def test_unset_and_empty_values_take_the_default() -> None:
    env = Env({"DEBUG": "", "EMAIL_PORT": "  "})
    assert env.flag("DEBUG", True) is True
    assert env.number("EMAIL_PORT", 25) == 25


def _start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in {"SECRET_KEY", "DEBUG", "EMAIL_PORT", "DJANGO_SETTINGS_MODULE"}}
    # A database of its own: a developer's var/ (make run registers an app there) is not
    # this installation's.
    with tempfile.TemporaryDirectory() as tmp:
        return subprocess.run([sys.executable, "-m", "loginguard.cli", "check"],
                              env={**clean, "DATABASE_URL": f"sqlite:///{tmp}/check.sqlite3",
                                   **env}, capture_output=True, text=True, timeout=60)


def test_production_refuses_to_start_without_secret_key() -> None:
    result = _start({"DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_environment_stops_start_up_with_one_clear_line() -> None:
    result = _start({"SECRET_KEY": "x" * 50, "EMAIL_PORT": "abc"})
    assert result.returncode != 0
    assert "EMAIL_PORT='abc' is not a whole number" in result.stderr
    assert "Traceback" not in result.stderr


def test_good_environment_starts() -> None:
    result = _start({"SECRET_KEY": "x" * 50})
    assert result.returncode == 0, result.stderr


def test_forward_auth_hosts_and_cookie_domain() -> None:
    env = Env({"FORWARD_AUTH_HOSTS": "App.Example.com, .tools.example.com",
               "SESSION_COOKIE_DOMAIN": ".Example.com"})
    assert env.hosts("FORWARD_AUTH_HOSTS") == ["app.example.com", ".tools.example.com"]
    assert env.cookie_domain("SESSION_COOKIE_DOMAIN") == "example.com"
    assert Env({}).cookie_domain("SESSION_COOKIE_DOMAIN") is None


@pytest.mark.parametrize("value", ["https://app.example.com", "app.example.com:443",
                                   "app.example.com/x", "*.example.com", "a b", "-x.com"])
def test_forward_auth_hosts_refuse_urls_and_patterns(value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="FORWARD_AUTH_HOSTS"):
        Env({"FORWARD_AUTH_HOSTS": value}).hosts("FORWARD_AUTH_HOSTS")


@pytest.mark.parametrize("value", ["com", "https://example.com", "example.com:8000", "*.x.com"])
def test_cookie_domain_must_be_a_parent_domain(value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="SESSION_COOKIE_DOMAIN"):
        Env({"SESSION_COOKIE_DOMAIN": value}).cookie_domain("SESSION_COOKIE_DOMAIN")


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("METRICS_TOKEN", "short", "METRICS_TOKEN is too short"),
    ("SECRET_KEY_FALLBACKS", "y" * 50 + ",tooshort", "SECRET_KEY_FALLBACKS has a key shorter"),
    ("LOG_LEVEL", "loud", "LOG_LEVEL='LOUD': use one of DEBUG, INFO, WARNING, ERROR"),
    ("READYZ_EMAIL_QUEUE_MAX_AGE", "-1", "READYZ_EMAIL_QUEUE_MAX_AGE='-1' is out of range"),
    ("AUDIT_RETENTION_DAYS", "0", "AUDIT_RETENTION_DAYS='0' is out of range"),
    ("FORWARD_AUTH_HOSTS", "https://app.example.com", "FORWARD_AUTH_HOSTS has"),
])
def test_bad_operations_settings_stop_start_up(variable: str, value: str,
                                               message: str) -> None:
    result = _start({"SECRET_KEY": "x" * 50, variable: value})
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
