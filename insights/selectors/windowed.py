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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Expression, Field, IntegerField
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
        rows = [dict(zip(names, row, strict=True)) for row in _converted(names, cursor.fetchall(), query.converters)]
    return rows if query.windows == 1 else _gathered(rows, query)


@dataclass(frozen=True)
class WindowedQuery:
    """The SQL of `windowed_query`, its parameters, and what converts each column of its rows.

    With several windows, the statement has a row per window (its index in `window`) and key,
    its aggregates unprefixed; `windowed_rows` gathers each key's windows into one row.
    """

    sql: str
    params: list
    converters: list[tuple[str, tuple, Any]]
    windows: int = 1
    aggregates: Mapping[str, WindowedAggregate] = field(default_factory=dict)
    overall: tuple[str, ...] = ()


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
    """Each aggregate once per window, over the rows whose `time_path` lies in the window.

    Windows are half-open [start, end) (dates or datetimes, as the time field holds). A row's
    aggregates are named `w<window index>_<name>`; `overall` aggregates (over every window) keep
    their name. `key` (a path, or an ORM expression over the model's fields) groups the rows and
    comes back as `key`; without it there is exactly one row, as with `QuerySet.aggregate`. The
    aggregates named in `raw` come back as the database returned them, for a caller that keeps one
    value of many rows and converts only that one (`converter_of`). `windowed_rows` runs it; a
    caller that sums one window's query with other sources runs it inside a larger statement.

    Several windows are read by one SELECT each, joined by UNION ALL: each reads only its own rows,
    and MariaDB evaluates no condition per aggregate (a `CASE` per window and aggregate made a
    four-window read of 4,400 month rows take 17 ms instead of 6).
    """
    query = _Query(model)
    quote = query.quote
    time_column = query.column(time_path)
    time_field = query.field(time_path)
    key_sql, key_params, key_expression = query.key(key) if key is not None else (None, [], None)
    selected = {
        name: (aggregate, query.column(aggregate.path), query.field(aggregate.path))
        for name, aggregate in {**aggregates, **(overall or {})}.items()
    }
    if len(windows) > 1 and any(aggregate.function != MAX for aggregate in (overall or {}).values()):
        raise ValueError("Over several windows, an overall aggregate can only be a MAX (a row may lie in two).")
    # Only a window's own rows: windows far apart (a partial day now and a year ago, the two edges
    # of a year-long range) must not make a query read everything in between.
    where = [f"{time_column} >= %s AND {time_column} < %s"]
    equal_params = []
    for path, value in (equal or {}).items():
        where.append(f"{query.column(path)} = %s")
        equal_params.append(query.field(path).get_db_prep_value(value, connection))
    prefixed = len(windows) == 1

    def alias(name: str) -> str:
        return f"w0_{name}" if prefixed and name in aggregates else name

    members, params = [], []
    for index, window in enumerate(windows):
        select = [] if prefixed else [f"{index} AS {quote('window')}"]
        if key_sql is not None:
            select.append(f"{key_sql} AS {quote('key')}")
        for name, (aggregate, column, column_field) in selected.items():
            select.append(f"{_call(aggregate.function, column, column_field)} AS {quote(alias(name))}")
        member = f"SELECT {', '.join(select)} FROM {query.from_clause()} WHERE {' AND '.join(where)}"
        params += key_params
        params += [time_field.get_db_prep_value(bound, connection) for bound in window]
        params += equal_params
        if key_sql is not None:
            member += f" GROUP BY {key_sql}"
            params += key_params
        members.append(member)

    converters = []
    if key_expression is not None:
        converters.append(("key", *_converters(key_expression)))
    for name, (aggregate, _, column_field) in selected.items():
        if name in raw:
            continue
        functions, expression = _aggregate_converters(aggregate, column_field)
        if functions:
            converters.append((alias(name), functions, expression))
    return WindowedQuery(
        " UNION ALL ".join(members), params, converters, len(windows), aggregates, tuple(overall or ())
    )


def _converted(names: list[str], rows: Sequence[tuple], converters: list) -> Sequence[tuple]:
    if not converters or not rows:
        return rows
    # Converted a column at a time: a year of hours is 8,760 rows, and a loop over the converters
    # of each row cost more than the conversions.
    columns = [list(column) for column in zip(*rows, strict=True)]
    for name, functions, expression in converters:
        index = names.index(name)
        for function in functions:
            columns[index] = [function(value, expression, connection) for value in columns[index]]
    return list(zip(*columns, strict=True))


def _gathered(rows: list[dict], query: WindowedQuery) -> list[dict]:
    """A row per key from a row per window and key: each window's aggregates as `w<index>_<name>`.

    A window without rows of a key gets what SQL aggregates over no rows give: no sum, no maximum, a
    count of 0.
    """
    empty = {
        f"w{index}_{name}": 0 if aggregate.function in (COUNT, COUNT_DISTINCT) else None
        for index in range(query.windows)
        for name, aggregate in query.aggregates.items()
    }
    gathered: dict[Any, dict] = {}
    for row in rows:
        key = row.get("key")
        found = gathered.get(key)
        if found is None:
            found = gathered[key] = {"key": key, **empty} if "key" in row else dict(empty)
            found.update(dict.fromkeys(query.overall))
        index = row["window"]
        for name in query.aggregates:
            found[f"w{index}_{name}"] = row[name]
        for name in query.overall:  # a MAX over every window (`windowed_query` allows no other)
            if row[name] is not None and (found[name] is None or row[name] > found[name]):
                found[name] = row[name]
    return list(gathered.values())


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


def _call(function: str, column: str, field: Field) -> str:
    if function == COUNT_DISTINCT:
        return f"COUNT(DISTINCT {column})"
    if function == SUM and connection.vendor == "mysql" and isinstance(field, IntegerField):
        # MariaDB sums integers as DECIMAL, which the driver reads into a Decimal the caller turns back
        # into an int: 13,000 of each for a year of hours. SQLite sums them as integers already.
        return f"CAST(SUM({column}) AS SIGNED)"
    return f"{function}({column})"


@functools.cache
def _aggregate_converters(aggregate: WindowedAggregate, field: Field) -> tuple:
    # The same few dozen (aggregate, column) pairs in every query, about a hundred per dashboard
    # snapshot; the backend's converters depend on neither the connection nor the thread asking.
    if aggregate.function in (COUNT, COUNT_DISTINCT):
        return (), None  # an integer, never NULL, from MariaDB and SQLite alike
    functions, expression = _converters(Col(field.model._meta.db_table, field))
    return tuple(functions), expression


def _converters(expression: Expression) -> tuple:
    """What the ORM applies to the value of this expression read from this database, in its order."""
    return [*connection.ops.get_db_converters(expression), *expression.get_db_converters(connection)], expression
