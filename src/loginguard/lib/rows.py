"""Model instances from one plain SQL statement, for the few hot-path selectors that run
below the ORM (STYLE: selectors read; issue 12: supported framework APIs only).

Building a queryset's SQL costs about half a millisecond of Python per call, twenty times
the indexed query it produces. A named selector writes that SQL once, runs it through
Django's own cursor (`connection.cursor()`, so health checks, execute wrappers and, on
PostgreSQL, server-side binding with psycopg's prepared statements all apply) and builds
instances with Django's documented ``Model.from_db``. The conversions the ORM would make
are made here: a field's own ``from_db_value`` (a JSON column arrives as its text), and
naive datetimes meaning UTC (Django's SQLite backend leaves that to the ORM)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


def columns(model: type[Model], alias: str) -> str:
    """The select list of every concrete column of ``model`` under ``alias``."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def width(model: type[Model]) -> int:
    return len(model._meta.concrete_fields)


def _value(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # SQLite stores UTC without an offset
    return value


@cache
def _converted(model: type[Model]) -> tuple[Any, ...]:
    """Each concrete field's ``from_db_value`` (None where it has none)."""
    return tuple(getattr(field, "from_db_value", None) for field in model._meta.concrete_fields)


def instance(model: type[M], row: Sequence[Any], start: int = 0) -> M:
    """The instance whose columns start at ``row[start]`` (in ``columns()`` order)."""
    names = [field.attname for field in model._meta.concrete_fields]
    values = [_value(v) if convert is None or v is None else convert(v, None, connection)
              for v, convert in zip(row[start:start + len(names)], _converted(model),
                                    strict=True)]
    return model.from_db(connection.alias, names, values)


def fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
