"""Database triggers that keep a Connection inside one reseller (SPEC §1, §5).

Django has no cross-table CHECK, so both engines get triggers: a connection row must join
a reseller user and a client account of that same reseller, and neither side may move to
another reseller while connected.

They are dropped before `migrate` and installed again after it (apps.py): SQLite rebuilds
a table to add a column, and a trigger that names that table would break the rebuild.
Installing is idempotent, so every `migrate` leaves them in place."""

from __future__ import annotations

from typing import Any

SQLITE = [
    """
    CREATE TRIGGER tenancy_connection_same_reseller_ins BEFORE INSERT ON tenancy_connection
    FOR EACH ROW WHEN NOT EXISTS (
        SELECT 1 FROM users_user u JOIN tenancy_clientaccount a ON a.id = NEW.account_id
        WHERE u.id = NEW.user_id AND u.kind = 'reseller' AND u.reseller_id = a.reseller_id)
    BEGIN SELECT RAISE(ABORT, 'connection must stay inside one reseller'); END
    """,
    """
    CREATE TRIGGER tenancy_connection_same_reseller_upd BEFORE UPDATE ON tenancy_connection
    FOR EACH ROW WHEN NOT EXISTS (
        SELECT 1 FROM users_user u JOIN tenancy_clientaccount a ON a.id = NEW.account_id
        WHERE u.id = NEW.user_id AND u.kind = 'reseller' AND u.reseller_id = a.reseller_id)
    BEGIN SELECT RAISE(ABORT, 'connection must stay inside one reseller'); END
    """,
    """
    CREATE TRIGGER tenancy_account_keeps_reseller
    BEFORE UPDATE OF reseller_id ON tenancy_clientaccount
    FOR EACH ROW WHEN NEW.reseller_id IS NOT OLD.reseller_id
        AND EXISTS (SELECT 1 FROM tenancy_connection c WHERE c.account_id = NEW.id)
    BEGIN SELECT RAISE(ABORT, 'connection must stay inside one reseller'); END
    """,
    """
    CREATE TRIGGER users_user_keeps_reseller BEFORE UPDATE OF reseller_id, kind ON users_user
    FOR EACH ROW WHEN (NEW.reseller_id IS NOT OLD.reseller_id OR NEW.kind IS NOT OLD.kind)
        AND EXISTS (SELECT 1 FROM tenancy_connection c WHERE c.user_id = NEW.id)
    BEGIN SELECT RAISE(ABORT, 'connection must stay inside one reseller'); END
    """,
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS tenancy_connection_same_reseller_ins",
    "DROP TRIGGER IF EXISTS tenancy_connection_same_reseller_upd",
    "DROP TRIGGER IF EXISTS tenancy_account_keeps_reseller",
    "DROP TRIGGER IF EXISTS users_user_keeps_reseller",
]

POSTGRES = [
    """
    CREATE FUNCTION tenancy_connection_same_reseller() RETURNS trigger AS $$
    BEGIN
        IF NOT EXISTS (
            SELECT 1 FROM users_user u JOIN tenancy_clientaccount a ON a.id = NEW.account_id
            WHERE u.id = NEW.user_id AND u.kind = 'reseller' AND u.reseller_id = a.reseller_id
        ) THEN
            RAISE EXCEPTION 'connection must stay inside one reseller'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END; $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER tenancy_connection_same_reseller BEFORE INSERT OR UPDATE ON tenancy_connection
    FOR EACH ROW EXECUTE FUNCTION tenancy_connection_same_reseller()
    """,
    """
    CREATE FUNCTION tenancy_connected_keeps_reseller() RETURNS trigger AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM tenancy_connection c
                   WHERE (TG_TABLE_NAME = 'users_user' AND c.user_id = NEW.id)
                      OR (TG_TABLE_NAME = 'tenancy_clientaccount' AND c.account_id = NEW.id)) THEN
            RAISE EXCEPTION 'connection must stay inside one reseller'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END; $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER tenancy_account_keeps_reseller
    BEFORE UPDATE OF reseller_id ON tenancy_clientaccount
    FOR EACH ROW WHEN (NEW.reseller_id IS DISTINCT FROM OLD.reseller_id)
    EXECUTE FUNCTION tenancy_connected_keeps_reseller()
    """,
    """
    CREATE TRIGGER users_user_keeps_reseller BEFORE UPDATE OF reseller_id, kind ON users_user
    FOR EACH ROW WHEN (NEW.reseller_id IS DISTINCT FROM OLD.reseller_id
                       OR NEW.kind IS DISTINCT FROM OLD.kind)
    EXECUTE FUNCTION tenancy_connected_keeps_reseller()
    """,
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS tenancy_connection_same_reseller ON tenancy_connection",
    "DROP TRIGGER IF EXISTS tenancy_account_keeps_reseller ON tenancy_clientaccount",
    "DROP TRIGGER IF EXISTS users_user_keeps_reseller ON users_user",
    "DROP FUNCTION IF EXISTS tenancy_connection_same_reseller()",
    "DROP FUNCTION IF EXISTS tenancy_connected_keeps_reseller()",
]



INSTALL = {"sqlite": SQLITE, "postgresql": POSTGRES}
DROP = {"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}


def _execute(connection: Any, statements_by_vendor: dict[str, list[str]]) -> None:
    statements = statements_by_vendor.get(connection.vendor)
    if statements is None:
        raise RuntimeError(f"loginguard has no tenancy triggers for {connection.vendor}")
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def _tables_exist(connection: Any) -> bool:
    tables = set(connection.introspection.table_names())
    return {"tenancy_connection", "tenancy_clientaccount", "users_user"} <= tables


def drop_triggers(using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    connection = connections[using]
    if _tables_exist(connection):
        _execute(connection, DROP)


def install_triggers(using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    connection = connections[using]
    if _tables_exist(connection):
        _execute(connection, DROP)
        _execute(connection, INSTALL)
