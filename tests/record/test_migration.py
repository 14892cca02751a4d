"""EmailChange moved from the security app to the record app (issue 12), then to the users
app (issue 26), without losing rows: migrate back to before the first move, write a row,
migrate forward, read it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from loginguard.lib import clock
from loginguard.tenancy import triggers

BEFORE = [("security", "0002_initial"), ("users", "0002_user_links_invalidated_at"),
          ("tenancy", "0002_initial")]


@pytest.mark.django_db(transaction=True)
def test_pending_email_changes_survive_the_move() -> None:
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    # As `migrate` does (tenancy/apps.py): SQLite rebuilds tables the triggers name.
    triggers.drop_triggers()
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        account = old.get_model("tenancy", "ClientAccount").objects.create(name="Acme")
        user = old.get_model("users", "User").objects.create(
            username="bob", username_key="bob", email="bob@acme.example", kind="client",
            account=account, password="!")
        old.get_model("security", "EmailChange").objects.create(
            user=user, new_email="new@acme.example", challenge="c", created_at=clock.now())
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
        from loginguard.users.models import EmailChange

        [change] = EmailChange.objects.all()
        assert change.new_email == "new@acme.example" and change.user.username == "bob"
        assert EmailChange._meta.db_table == "record_emailchange"
    finally:
        MigrationExecutor(connection).migrate(latest)
        triggers.install_triggers()
