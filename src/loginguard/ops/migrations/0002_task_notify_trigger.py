"""PostgreSQL only: every task row inserted sends NOTIFY loginguard_tasks, delivered when the
inserting transaction commits, so an idle `loginguard worker` (ops/wakeup.py) starts on it
at once. On SQLite this migration does nothing: the worker watches PRAGMA data_version."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

TABLE = "django_tasks_database_dbtaskresult"

CREATE = f"""
CREATE OR REPLACE FUNCTION loginguard_notify_task() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('loginguard_tasks', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS loginguard_task_queued ON {TABLE};
CREATE TRIGGER loginguard_task_queued AFTER INSERT ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION loginguard_notify_task();
"""

DROP = f"""
DROP TRIGGER IF EXISTS loginguard_task_queued ON {TABLE};
DROP FUNCTION IF EXISTS loginguard_notify_task();
"""


def forward(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backward(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0001_periodic_job"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(forward, backward)]
