"""The operator's commands of issue 15: list, deactivate/reactivate, unlock, rename, IP
policy, --version, --help without SECRET_KEY, a piped password refused."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from loginguard.audit.models import AuditEvent
from loginguard.tenancy.models import ClientAccount, Reseller
from loginguard.throttle import counters
from loginguard.throttle.policies import password_attempt
from loginguard.users.models import User
from tests.conftest import Personas, Visitor, deliver
from tests.ops.test_cli import run, snapshot

pytestmark = pytest.mark.django_db


def test_list_users_all_and_by_tenant(personas: Personas) -> None:
    out = run("list_users")
    assert out.splitlines()[0].split()[:3] == ["USERNAME", "EMAIL", "ROLE"]
    for name in ("alice", "bob", "rita", "sam", "sue"):
        assert name in out
    assert "5 user(s)." in out
    acme = run("list_users", "--account", "ACME")
    assert "alice" in acme and "client admin" in acme and "sam" not in acme
    assert "2 user(s)." in acme
    northwind = run("list_users", "--reseller", "northwind")
    assert "rita" in northwind and "reseller user" in northwind and "bob" not in northwind


def test_deactivate_and_reactivate_from_the_cli(personas: Personas) -> None:
    visitor = Visitor()
    visitor.sign_in(personas.member)
    out = run("deactivate_user", "BOB")
    assert "Deactivated bob" in out
    assert not User.objects.get(username="bob").is_active
    assert visitor.signed_in_as() is None
    row = AuditEvent.objects.get(event_type="user.deactivated", subject=personas.member)
    assert row.extra == {"via": "cli"} and row.actor is None
    assert any("bob@acme.example" in m.to for m in deliver())
    assert "already deactivated" in run("deactivate_user", "bob")
    assert "Reactivated bob" in run("reactivate_user", "bob")
    assert User.objects.get(username="bob").is_active
    assert AuditEvent.objects.filter(event_type="user.reactivated").count() == 1


def test_unlock_user_clears_every_lock_and_is_audited(personas: Personas) -> None:
    key = personas.member.username_key
    for ip in ("203.0.113.1", "203.0.113.2"):
        for _ in range(5):
            password_attempt(key, ip)
    assert not password_attempt(key, "203.0.113.1").allowed  # locked from this address
    other = User.objects.get(username="alice")
    password_attempt(other.username_key, "203.0.113.1")
    out = run("unlock_user", "bob")
    assert "Cleared for bob: the password lock on the username; the password backoff " \
        "from 2 address(es) or browser(s)." in out
    assert password_attempt(key, "203.0.113.1").allowed
    assert counters.read(f"pw-user:{other.username_key}").count == 1  # alice's untouched
    row = AuditEvent.objects.get(event_type="user.unlocked", subject=personas.member)
    assert row.extra == {"via": "cli", "cleared": [
        "the password lock on the username",
        "the password backoff from 2 address(es) or browser(s)"]}
    assert "Nothing was blocking sam" in run("unlock_user", "sam")


def test_unlock_user_clears_the_code_quota_the_tour_runs_into(personas: Personas) -> None:
    """Issue 28: a second pass of the README tour hit "Too many codes were requested in
    the last hour", and unlock_user cleared nothing."""
    from loginguard.lib import clock
    from tests.conftest import Visitor

    for _ in range(5):  # five sign-ins a minute apart: the hour's five codes
        Visitor().password("bob")
        clock.advance(timedelta(minutes=1, seconds=1))
    blocked = Visitor()
    blocked.password("bob")
    page = blocked.get("/login/verify/").content
    assert b"Too many codes" in page and b"Resend code" not in page
    out = run("unlock_user", "bob")
    assert "the sign-in code quota (5 codes an hour)" in out
    fresh = Visitor()
    fresh.password("bob")
    assert b"We sent a 6-digit verification code" in fresh.get("/login/verify/").content


def test_rename_account(personas: Personas) -> None:
    assert "Renamed client account 'Acme' to 'Acme Widgets'" in run(
        "rename_account", "acme", "  Acme   Widgets ")
    assert ClientAccount.objects.filter(name="Acme Widgets").exists()
    row = AuditEvent.objects.get(event_type="account.renamed")
    assert row.extra == {"from": "Acme", "to": "Acme Widgets", "via": "cli"}


def test_set_ip_policy_for_accounts_and_resellers(personas: Personas) -> None:
    assert "is network." in run("set_ip_policy", "--account", "Acme", "network")
    assert ClientAccount.objects.get(name="Acme").ip_match == "network"
    assert "nothing changed" in run("set_ip_policy", "--account", "Acme", "network")
    assert "is off." in run("set_ip_policy", "--reseller", "Northwind", "off")
    assert Reseller.objects.get(name="Northwind").ip_match == "off"
    kinds = sorted(AuditEvent.objects.filter(extra__via="cli").values_list("event_type",
                                                                           flat=True))
    assert kinds == ["account.ip_policy_changed", "reseller.ip_policy_changed"]


@pytest.mark.parametrize(("args", "message"), [
    (["list_users", "--account", "Nope"], "No client account named"),
    (["deactivate_user", "ghost"], "No user named 'ghost'"),
    (["reactivate_user", ""], "No user named"),
    (["unlock_user", "ghost"], "No user named"),
    (["rename_account", "Nope", "X"], "No client account named"),
    (["rename_account", "Acme", "Globex"], "already exists"),
    (["rename_account", "Acme", "   "], "can't be empty"),
    (["rename_account", "Acme", "x" * 200], "too long"),
    (["rename_account", "Acme", "Bad\x00Name"], "Use only"),
    (["set_ip_policy", "--account", "Nope", "off"], "No client account named"),
    (["set_ip_policy", "--account", "Acme", "sometimes"], "invalid choice"),
    (["set_ip_policy", "off"], "one of the arguments --account --reseller is required"),
])
def test_bad_operator_input_changes_nothing(personas: Personas, args: list[str],
                                            message: str) -> None:
    before = snapshot(), AuditEvent.objects.count()
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert (snapshot(), AuditEvent.objects.count()) == before
    assert ClientAccount.objects.get(pk=personas.account.pk).name == "Acme"


def cli(tmp_path: Path, *args: str, stdin: str | None = None,
        secret: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DEBUG", None)
    if secret:
        env["SECRET_KEY"] = secrets.token_urlsafe(50)
    else:
        env.pop("SECRET_KEY", None)
    return subprocess.run([sys.executable, "-m", "loginguard.cli", *args], env=env,
                          input=stdin, capture_output=True, text=True, timeout=120,
                          stdin=None if stdin is not None else subprocess.DEVNULL)


def test_version_and_help_need_no_secret_key(tmp_path: Path) -> None:
    version = cli(tmp_path, "--version", secret=False)
    assert version.returncode == 0 and version.stdout.startswith("loginguard 0.")
    for args in (["--help"], ["help"], []):
        shown = cli(tmp_path, *args, secret=False)
        assert shown.returncode == 0, shown.stderr
        for command in ("create_user", "list_users", "unlock_user", "set_ip_policy",
                        "deactivate_user", "rename_account", "serve", "worker"):
            assert f"  {command} " in shown.stdout, command
    sub = cli(tmp_path, "unlock_user", "--help", secret=False)
    assert sub.returncode == 0 and "code-step lock" in sub.stdout
    # Anything that would do work still refuses without a key.
    refused = cli(tmp_path, "list_users", secret=False)
    assert refused.returncode == 2 and "SECRET_KEY is not set" in refused.stderr


def test_create_user_refuses_a_piped_password_without_the_flag(tmp_path: Path) -> None:
    assert cli(tmp_path, "migrate", "-v0").returncode == 0
    assert cli(tmp_path, "create_account", "Acme").returncode == 0
    piped = cli(tmp_path, "create_user", "zed", "--email", "z@x.example", "--account",
                "Acme", stdin="zed-long-passphrase-1\n")
    assert piped.returncode == 1
    assert "--password-stdin" in piped.stderr and "nothing was created" in piped.stderr
    plain = cli(tmp_path, "create_user", "zed", "--email", "z@x.example", "--account", "Acme")
    assert plain.returncode == 0, plain.stderr  # no input at all: no password, as before


def test_check_deploy_is_clean(tmp_path: Path) -> None:
    result = cli(tmp_path, "check", "--deploy")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout + result.stderr
