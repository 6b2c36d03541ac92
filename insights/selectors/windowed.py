"""Aggregates of several time windows in one query, written as SQL text.

Every metrics read (from the sale lines, the refund lines or a summary table) is the same query:
a few aggregates of a few columns, once per window, over the rows of any window, optionally
grouped. Built with the ORM (a Q, a When and a Case, or a RawSQL, under each of up to seven
aggregates per window, then compiled), such a query cost far more CPU than MariaDB needed to
answer it: half of the dashboard snapshot's time (35 ms) was the ORM building about twelve of them.
Written here as text, each costs a few dozen string joins; the rows come back converted as the
ORM would convert each column (`Decimal`, aware `datetime`, `date`, on SQLite too).

Only what the metrics need: tables joined by one level of foreign key (each joined once, so it is
named by its table), equality filters, and `SUM`, `COUNT`, `COUNT DISTINCT` and `MAX`.
"""

import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Expression, Field
from django.db.models.expressions import Col

Window = tuple[datetime, datetime]

SUM, COUNT, COUNT_DISTINCT, MAX = "SUM", "COUNT", "COUNT DISTINCT", "MAX"


@dataclass(frozen=True)
class WindowedAggregate:
    """`function` of the column at `path` (a field name, or `relation__field`)."""

    function: str
    path: str


def windowed_rows(model: type, **arguments: Any) -> list[dict]:
    """The rows of `windowed_query(model, **arguments)`, each column converted as the ORM would."""
    query = windowed_query(model, **arguments)
    with connection.cursor() as cursor:
        cursor.execute(query.sql, query.params)
        names = [description[0] for description in cursor.description]
        return [_converted(dict(zip(names, row, strict=True)), query.converters) for row in cursor.fetchall()]


@dataclass(frozen=True)
class WindowedQuery:
    """The SQL of `windowed_query`, its parameters, and what converts each column of its rows."""

    sql: str
    params: list
    converters: list[tuple[str, tuple, Any]]


def windowed_query(
    model: type,
    *,
    time_path: str,
    windows: Sequence[tuple],
    aggregates: Mapping[str, WindowedAggregate],
    equal: Mapping[str, object] | None = None,
    key: str | Expression | None = None,
    overall: Mapping[str, WindowedAggregate] | None = None,
    raw: Collection[str] = (),
) -> WindowedQuery:
    """Each aggregate once per window, over the rows whose `time_path` lies in any window.

    Windows are half-open [start, end) (dates or datetimes, as the time field holds). A row's
    aggregates are named `w<window index>_<name>`; `overall` aggregates (no window) keep their name.
    `key` (a path, or an ORM expression over the model's fields) groups the rows and comes back as
    `key`; without it there is exactly one row, as with `QuerySet.aggregate`. The aggregates named
    in `raw` come back as the database returned them, for a caller that keeps one value of many
    rows and converts only that one (`converter_of`). `windowed_rows` runs it; a caller that sums
    it with other sources runs it inside a larger statement.
    """
    query = _Query(model)
    quote = query.quote
    time_column = query.column(time_path)
    time_field = query.field(time_path)
    bounds = [[time_field.get_db_prep_value(bound, connection) for bound in window] for window in windows]
    condition = f"{time_column} >= %s AND {time_column} < %s"

    select, params, converters = [], [], []
    if key is not None:
        key_sql, key_params, key_expression = query.key(key)
        select.append(f"{key_sql} AS {quote('key')}")
        params += key_params
        converters.append(("key", _converters(key_expression)))
    columns = {
        name: (query.column(aggregate.path), query.field(aggregate.path)) for name, aggregate in aggregates.items()
    }
    for index, window_bounds in enumerate(bounds):
        for name, aggregate in aggregates.items():
            column, field = columns[name]
            if len(bounds) > 1:  # with one window, the WHERE clause is the condition
                column = f"CASE WHEN {condition} THEN {column} END"
                params += window_bounds
            alias = f"w{index}_{name}"
            select.append(f"{_call(aggregate.function, column)} AS {quote(alias)}")
            if name not in raw:
                converters.append((alias, _aggregate_converters(aggregate, field)))
    for name, aggregate in (overall or {}).items():
        select.append(f"{_call(aggregate.function, query.column(aggregate.path))} AS {quote(name)}")
        converters.append((name, _aggregate_converters(aggregate, query.field(aggregate.path))))

    # Only the windows' own rows: windows far apart (a partial day now and a year ago, the two edges
    # of a year-long range) must not make a query read everything in between.
    where = [" OR ".join(f"({condition})" for _ in bounds)]
    params += [bound for window_bounds in bounds for bound in window_bounds]
    for path, value in (equal or {}).items():
        where.append(f"{query.column(path)} = %s")
        params.append(query.field(path).get_db_prep_value(value, connection))

    sql = f"SELECT {', '.join(select)} FROM {query.from_clause()} WHERE ({where[0]})"
    sql += "".join(f" AND {clause}" for clause in where[1:])
    if key is not None:
        sql += f" GROUP BY {key_sql}"
        params += key_params
    converters = [(name, functions, expression) for name, (functions, expression) in converters if functions]
    return WindowedQuery(sql, params, converters)


class _Query:
    """The model's table and the tables its paths join, each named by its table."""

    def __init__(self, model: type) -> None:
        self.model = model
        self.joins: dict[str, str] = {}
        self.quote = connection.ops.quote_name

    def field(self, path: str) -> Field:
        model, name = self._model_and_name(path)
        return model._meta.get_field(name)

    def column(self, path: str) -> str:
        model, name = self._model_and_name(path)
        return f"{self.quote(model._meta.db_table)}.{self.quote(model._meta.get_field(name).column)}"

    def key(self, key: str | Expression) -> tuple[str, list, Expression]:
        """The grouping key's SQL, its parameters and the expression whose converters its values take."""
        if isinstance(key, str):
            field = self.field(key)
            return self.column(key), [], Col(field.model._meta.db_table, field)
        # An ORM expression (a local hour or date) is compiled once, against a query of the same joins.
        orm_query = self.model.objects.all().query
        resolved = key.resolve_expression(orm_query, allow_joins=True)
        for alias in orm_query.alias_map:
            if alias != self.model._meta.db_table:
                self._join_table(alias)
        sql, params = orm_query.get_compiler(connection=connection).compile(resolved)
        return sql, list(params), resolved

    def from_clause(self) -> str:
        return " ".join([self.quote(self.model._meta.db_table), *self.joins.values()])

    def _model_and_name(self, path: str) -> tuple[type, str]:
        *relations, name = path.split("__")
        if len(relations) > 1:
            raise ValueError(f"Only one level of relation is supported: {path}")
        if not relations:
            return self.model, name
        relation = self.model._meta.get_field(relations[0])
        related = relation.related_model
        self.joins.setdefault(
            related._meta.db_table,
            f"INNER JOIN {self.quote(related._meta.db_table)} ON "
            f"{self.quote(self.model._meta.db_table)}.{self.quote(relation.column)} = "
            f"{self.quote(related._meta.db_table)}.{self.quote(related._meta.pk.column)}",
        )
        return related, name

    def _join_table(self, table: str) -> None:
        for relation in self.model._meta.concrete_fields:
            if relation.is_relation and relation.related_model._meta.db_table == table:
                self._model_and_name(f"{relation.name}__{relation.related_model._meta.pk.name}")
                return
        raise ValueError(f"{table} is not a relation of {self.model.__name__}")


def converter_of(model: type, aggregate: WindowedAggregate) -> Callable[[Any], Any]:
    """What `windowed_rows` does to each value of an aggregate, for a value it returned `raw`."""
    functions, expression = _aggregate_converters(aggregate, _Query(model).field(aggregate.path))

    def convert(value):
        for function in functions:
            value = function(value, expression, connection)
        return value

    return convert


def _call(function: str, column: str) -> str:
    if function == COUNT_DISTINCT:
        return f"COUNT(DISTINCT {column})"
    return f"{function}({column})"


@functools.cache
def _aggregate_converters(aggregate: WindowedAggregate, field: Field) -> tuple:
    # The same few dozen (aggregate, column) pairs in every query, about a hundred per dashboard
    # snapshot; the backend's converters depend on neither the connection nor the thread asking.
    if aggregate.function in (COUNT, COUNT_DISTINCT):
        return (_count,), None
    functions, expression = _converters(Col(field.model._meta.db_table, field))
    return tuple(functions), expression


def _converters(expression: Expression) -> tuple:
    """What the ORM applies to the value of this expression read from this database, in its order."""
    return [*connection.ops.get_db_converters(expression), *expression.get_db_converters(connection)], expression


def _count(value, expression, connection) -> int:
    return int(value or 0)


def _converted(row: dict, converters: list) -> dict:
    for name, functions, expression in converters:  # only the columns that have any
        value = row[name]
        for function in functions:
            value = function(value, expression, connection)
        row[name] = value
    return row
