"""A hot-path lookup whose SQL Django compiles once per database connection.

Compiling a queryset (joins, select list, converters) costs about half a millisecond of
Python on every call, twenty times the indexed query it produces; on the request paths with
a speed goal (the API's token lookup) that was most of the request. `CompiledLookup` asks
the ORM once for the SQL, the column converters and the select_related populators of a
queryset built with placeholder values, then runs only that SQL with the real values and
builds the instances exactly as `QuerySet.__iter__` does (Django 5.2's `ModelIterable`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]

M = TypeVar("M", bound=Model)


CACHE_ATTRIBUTE = "_loginguard_compiled"  # on each connection: {lookup: _Prepared}


@dataclass
class _Prepared:
    sql: str
    converters: dict[int, Any]
    model: type[Model]
    init_list: list[str]
    start: int
    end: int
    populators: list[Any]


class CompiledLookup(Generic[M]):
    """``CompiledLookup(lambda v: Model.objects.filter(key=v), "placeholder")`` then
    ``lookup.first("real value")``: the row's instance (with its select_related objects),
    or None; ``lookup.all(...)`` every row. The queryset must take its parameters only from
    the placeholders, in order, and must not use annotations or prefetching."""

    def __init__(self, build: Callable[..., QuerySet[M]], *placeholders: Any) -> None:
        self._build = build
        self._placeholders = placeholders

    def _prepare(self, connection: BaseDatabaseWrapper, using: str) -> _Prepared:
        queryset = self._build(*self._placeholders)
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        if tuple(params) != tuple(self._placeholders) or compiler.annotation_col_map:
            raise ValueError("CompiledLookup: the queryset's parameters must be exactly the "
                             f"placeholders; got {params!r}")
        select, klass_info = compiler.select, compiler.klass_info
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        prepared = _Prepared(
            sql=sql,
            converters=compiler.get_converters([s[0] for s in select[:compiler.col_count]]),
            model=klass_info["model"],
            init_list=[f[0].target.attname for f in select[start:end]],
            start=start, end=end,
            populators=get_related_populators(klass_info, select, using))
        # Kept on the connection itself (its converters are bound to it), so the prepared
        # state goes away with a thread's connection instead of keeping it alive.
        vars(connection).setdefault(CACHE_ATTRIBUTE, {})[self] = prepared
        return prepared

    def first(self, *values: Any, using: str = "default") -> M | None:
        rows = self._run(values, using, many=False)
        return rows[0] if rows else None

    def all(self, *values: Any, using: str = "default") -> list[M]:
        return self._run(values, using, many=True)

    def _run(self, values: tuple[Any, ...], using: str, *, many: bool) -> list[M]:
        connection = connections[using]
        prepared = (vars(connection).get(CACHE_ATTRIBUTE, {}).get(self)
                    or self._prepare(connection, using))
        with _cursor(connection) as cursor:
            cursor.execute(prepared.sql, values)
            rows: Sequence[Sequence[Any]] = (
                cursor.fetchall() if many else [r for r in [cursor.fetchone()] if r])
        objects = []
        for row in rows:
            if prepared.converters:  # as SQLCompiler.apply_converters does
                row = list(row)
                for position, (functions, expression) in prepared.converters.items():
                    for function in functions:
                        row[position] = function(row[position], expression, connection)
            obj = prepared.model.from_db(using, prepared.init_list,
                                         row[prepared.start:prepared.end])
            for populator in prepared.populators:
                populator.populate(row, obj)
            objects.append(obj)
        return objects  # type: ignore[return-value]


def _cursor(connection: BaseDatabaseWrapper) -> Any:
    """Django's cursor; on PostgreSQL one whose statements the server prepares once per
    connection, so the query is not planned again on every call (planning the three-table
    join cost more server CPU than running it). Behind PgBouncer this needs its support
    for prepared statements (1.21+, `max_prepared_statements`); see docs/operations.md."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()  # as connection.cursor() does
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django turns psycopg's statement preparation off (for connection poolers). Turn
        # it back on for statements executed with prepare=True only: Django's own cursors
        # bind parameters client-side and never prepare.
        raw.prepare_threshold = 2**31 - 1
    raw_cursor = _preparing_cursor_class()(raw)
    return connection._prepare_cursor(raw_cursor)  # type: ignore[attr-defined]


@cache
def _preparing_cursor_class() -> type:
    import psycopg  # only on PostgreSQL installations

    class PreparingCursor(psycopg.Cursor[Any]):
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            return super().execute(query, params, prepare=True, **kwargs)

    return PreparingCursor
