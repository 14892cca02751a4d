"""Model instances from one plain SQL statement, for the few hot-path selectors that run
below the ORM (STYLE: selectors read; issue 12: supported framework APIs only).

Building a queryset's SQL costs about half a millisecond of Python per call, twenty times
the indexed query it produces. A named selector writes that SQL once, runs it through
Django's own cursor (`connection.cursor()`, so health checks, execute wrappers and, on
PostgreSQL, server-side binding with psycopg's prepared statements all apply) and builds
instances with Django's documented ``Model.from_db``.

The fence around it (issue 26): each selector names the columns it needs (``Picked``), so
a column added to a model is not read by every sign-in; the rest of each instance is
deferred, as ``QuerySet.only()`` leaves it. Every value goes through the conversions the
ORM itself applies, obtained from Django's public API: the backend's
(``connection.ops.get_db_converters``) and the field's (``Col.get_db_converters``: a JSON
column's ``from_db_value``, a UUID on SQLite, an aware datetime). And each selector has a
test that compares it with its ORM equivalent on both databases (tests/lib/test_rows.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model

M = TypeVar("M", bound=Model)
Converter = Callable[[Any, Any, Any], Any]


class Picked(Generic[M]):
    """Named columns of one model under one alias of a statement, and the instance they
    make. ``fields`` are attribute names (``account_id``); they are read in the model's
    field order, whatever order they are given in."""

    def __init__(self, model: type[M], alias: str, fields: Sequence[str]) -> None:
        known = {field.attname for field in model._meta.concrete_fields}
        unknown = set(fields) - known
        if unknown:
            raise ValueError(f"{model.__name__} has no column {sorted(unknown)}")
        self.model = model
        self.alias = alias
        self.fields = tuple(field for field in model._meta.concrete_fields
                            if field.attname in fields)
        self.names = tuple(field.attname for field in self.fields)

    @cached_property
    def sql(self) -> str:
        """The select list: ``alias."column", ...``."""
        return ", ".join(f'{self.alias}."{field.column}"' for field in self.fields)

    @property
    def width(self) -> int:
        return len(self.fields)

    def _converters(self, db: Any) -> list[tuple[int, Any, list[Converter]]]:
        # Per database (alias and backend): the converters depend on the backend and the
        # settings only, so they are worked out once per process; columns that need none
        # (most, on PostgreSQL) are left out.
        cache: dict[tuple[str, str], list[tuple[int, Any, list[Converter]]]] = \
            self.__dict__.setdefault("lg_converters", {})
        key = (db.alias, db.vendor)
        if key not in cache:
            found = []
            for i, field in enumerate(self.fields):
                column = field.get_col(self.alias)
                converters = [*db.ops.get_db_converters(column),
                              *column.get_db_converters(db)]
                if converters:
                    found.append((i, column, converters))
            cache[key] = found
        return cache[key]

    def build(self, row: Sequence[Any], start: int = 0) -> M:
        """The instance whose columns start at ``row[start]``, the others deferred."""
        db = connections[DEFAULT_DB_ALIAS]
        values = list(row[start:start + len(self.fields)])
        for i, column, converters in self._converters(db):
            value = values[i]
            for convert in converters:
                value = convert(value, column, db)
            values[i] = value
        return self.model.from_db(db.alias, self.names, values)

    def none_if_null(self, row: Sequence[Any], start: int = 0) -> M | None:
        """``build``, or None when the row's primary key column is NULL (an outer join
        that found nothing)."""
        pk_at = self.names.index(self.model._meta.pk.attname)
        return None if row[start + pk_at] is None else self.build(row, start)


def fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
