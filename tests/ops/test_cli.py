"""The operator CLI of SPEC §8, through call_command (same process, test database) and a
few real `loginguard` subprocesses for exit codes and one-line messages."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from loginguard.audit.models import AuditEvent
from loginguard.emails.models import OutgoingEmail
from loginguard.tenancy.models import ClientAccount, Connection, Reseller
from loginguard.users.models import User
from tests.conftest import PASSWORD, Personas, deliver

pytestmark = pytest.mark.django_db


def run(*args: str, stdin: str = "") -> str:
    out = io.StringIO()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        call_command(*args, stdout=out)
    finally:
        sys.stdin = old
    return out.getvalue()


def snapshot() -> tuple[int, ...]:
    return (Reseller.objects.count(), ClientAccount.objects.count(), User.objects.count(),
            Connection.objects.count(), OutgoingEmail.objects.count())


def test_create_reseller_account_user_and_connect() -> None:
    run("create_reseller", "Northwind")
    run("create_account", "Acme", "--reseller", "northwind")
    run("create_user", "alice", "--email", "alice@acme.example", "--account", "Acme",
        "--admin", "--password-stdin", stdin=PASSWORD + "\n")
    run("create_user", "rita", "--email", "rita@nw.example", "--reseller", "Northwind",
        "--password-stdin", stdin=PASSWORD + "\n")
    run("connect_user", "RITA", "--account", "acme")
    alice = User.objects.get(username="alice")
    assert alice.is_client_admin and alice.account.name == "Acme"
    assert alice.check_password(PASSWORD)
    assert Connection.objects.filter(user__username="rita", account__name="Acme").exists()
    assert AuditEvent.objects.filter(event_type="user.connected").count() == 1


def test_create_user_with_invite_emails_a_single_use_link() -> None:
    run("create_account", "Acme")
    out = run("create_user", "nora", "--email", "nora@acme.example", "--account", "Acme",
              "--invite")
    assert "sent an invitation" in out
    nora = User.objects.get(username="nora")
    assert not nora.has_usable_password()
    [message] = deliver()
    assert message.to == ["nora@acme.example"]
    assert "/invite/" in str(message.body) and "72 hours" in str(message.body)


BAD_INPUT = [
    (["create_account", "X", "--reseller", "Nobody"], "No reseller named 'Nobody'"),
    (["create_user", "u1", "--email", "u1@x.example", "--account", "Nowhere",
      "--password-stdin"], "No client account named 'Nowhere'"),
    (["create_user", "ALICE", "--email", "a2@x.example", "--account", "Acme",
      "--password-stdin"], "not available"),
    (["create_user", "newbie", "--email", "not-an-email", "--account", "Acme",
      "--password-stdin"], "not a valid email"),
    (["create_user", "newbie", "--email", "n@x.example", "--account", "Acme",
      "--password-stdin"], "too short"),
    (["create_user", "newbie", "--email", "n@x.example", "--reseller", "Northwind",
      "--admin"], "--admin applies only to client users"),
    (["connect_user", "rita", "--account", "Globex"], "is not a client account of"),
    (["connect_user", "bob", "--account", "Acme"], "is not a reseller user"),
    (["connect_user", "ghost", "--account", "Acme"], "No user named 'ghost'"),
    (["create_reseller", "   "], "can't be empty"),
    (["create_reseller", "northwind"], "already exists"),
    (["create_account", "acme"], "not available"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUT)
def test_bad_input_is_one_line_and_changes_nothing(personas: Personas, args: list[str],
                                                   message: str) -> None:
    before = snapshot()
    stdin = "short\n" if "--password-stdin" in args else ""
    with pytest.raises(CommandError, match=message) as excinfo:
        run(*args, stdin=stdin)
    assert "\n" not in str(excinfo.value)
    assert snapshot() == before


@pytest.mark.parametrize("password", ["123456789012345", "password1234", "Acme-is-my-company",
                                      "bob-the-builder@x.example", "x" * 1025])
def test_password_policy_applies_on_the_cli(personas: Personas, password: str) -> None:
    before = snapshot()
    with pytest.raises(CommandError):
        run("create_user", "bobby", "--email", "bob-the-builder@x.example", "--account",
            "Acme", "--password-stdin", stdin=password + "\n")
    assert snapshot() == before


def test_demo_loads_twice_and_prints_credentials(settings: object) -> None:
    first = run("demo", "--force")
    second = run("demo", "--force")
    assert "alice" in first and "silver-harbor-compass" in first
    assert first == second
    assert User.objects.count() == 6
    assert Connection.objects.count() == 1


def test_demo_refuses_outside_demo_mode() -> None:
    with pytest.raises(CommandError, match="outside demo mode"):
        run("demo")
    assert User.objects.count() == 0


COMMANDS = ["serve", "worker", "create_reseller", "create_account", "create_user",
            "connect_user", "demo", "migrate", "mailsink"]


def test_every_command_has_help_and_bad_input_exits_non_zero(tmp_path: Path) -> None:
    env = {**os.environ, "SECRET_KEY": "s" * 50,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "loginguard.cli", *args], env=env,
                              input=stdin, capture_output=True, text=True, timeout=120)

    for command in COMMANDS:
        result = cli(command, "--help")
        assert result.returncode == 0, (command, result.stderr)
        assert len(result.stdout) > 200, command
    assert cli("migrate", "-v0").returncode == 0
    failed = cli("create_account", "Acme", "--reseller", "Nobody")
    assert failed.returncode == 1
    assert failed.stderr.strip() == "CommandError: No reseller named 'Nobody'."
    ok = cli("create_reseller", "Northwind")
    assert ok.returncode == 0 and "Created reseller 'Northwind'" in ok.stdout
    bad_bind = cli("serve", "--bind", "nonsense")
    assert bad_bind.returncode == 1 and "--bind" in bad_bind.stderr


def test_set_email_is_the_operators_audited_escape_hatch(personas: Personas) -> None:
    out = run("set_email", "BOB", "bob@new.example")
    assert "bob@new.example" in out
    bob = User.objects.get(username="bob")
    assert bob.email == "bob@new.example"
    row = AuditEvent.objects.get(event_type="email.changed", subject=bob)
    assert row.extra["via"] == "cli" and row.extra["from"] == "bob@acme.example"
    assert any(m.to == ["bob@acme.example"] for m in deliver())  # the old address is told


@pytest.mark.parametrize(("args", "message"), [
    (["set_email", "nobody", "x@x.example"], "No user named"),
    (["set_email", "bob", "not-an-email"], "not a valid email"),
    (["set_email", "bob", "bob@acme.example"], "already uses"),
    (["suspend_account", "nope"], "No client account named"),
    (["resume_reseller", "nope"], "No reseller named"),
])
def test_bad_escape_hatch_input_changes_nothing(personas: Personas, args: list[str],
                                                message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert User.objects.get(username="bob").email == "bob@acme.example"


def test_suspend_and_resume_from_the_cli(personas: Personas) -> None:
    assert "Suspended client account 'Acme'" in run("suspend_account", "acme")
    assert not ClientAccount.objects.get(name="Acme").is_active
    assert "Resumed" in run("resume_account", "ACME")
    assert ClientAccount.objects.get(name="Acme").is_active
    assert "Suspended reseller" in run("suspend_reseller", "northwind")
    assert "Resumed reseller" in run("resume_reseller", "northwind")
    kinds = list(AuditEvent.objects.filter(event_type__in=[
        "account.suspended", "account.resumed", "reseller.suspended", "reseller.resumed"]
    ).values_list("event_type", flat=True))
    assert sorted(kinds) == ["account.resumed", "account.suspended", "reseller.resumed",
                             "reseller.suspended"]
