"""One-row reads on the hottest paths, without the ORM's query building.

Every signed-in request loads its user, and every open job card polls every two
seconds. On our 2-core machines the ORM spends 0.3-0.9 ms *building* such a
query, many times what running it costs (docs/performance.md). `fetch_row`
runs hand-written SQL and converts each column exactly as the ORM would, with
the database backend's and the field's converters, so `Model.from_db` gets
the same Python values a queryset would have given it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import connections
from django.db.models import Field, Model


def field(model: type[Model], name: str) -> Field[Any, Any]:
    found = model._meta.get_field(name)
    assert isinstance(found, Field), f"{model.__name__}.{name} is not a column"
    return found


def column(model: type[Model], name: str, alias: str = "default") -> str:
    """The quoted column name of `model.name`."""
    return connections[alias].ops.quote_name(str(field(model, name).column))


def table(model: type[Model], alias: str = "default") -> str:
    return connections[alias].ops.quote_name(model._meta.db_table)


@cache
def _converters(fields: tuple[Field[Any, Any], ...], alias: str) -> list[tuple[Any, list[Any]]]:
    connection = connections[alias]
    found = []
    for f in fields:
        expression = f.get_col(f.model._meta.db_table)
        backend = connection.ops.get_db_converters(expression)
        found.append((expression, backend + expression.get_db_converters(connection)))
    return found


def fetch_row(
    sql: str, params: Sequence[Any], fields: Sequence[Field[Any, Any]], alias: str = "default"
) -> list[Any] | None:
    """The first row of `sql`, its columns converted as the ORM converts `fields`."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for index, (expression, converters) in enumerate(_converters(tuple(fields), alias)):
        for convert in converters:
            values[index] = convert(values[index], expression, connection)
    return values


def partial_instance[M: Model](model: type[M], alias: str, values: dict[str, Any]) -> M:
    """`model.from_db` knowing only some columns (by attname); the rest load on demand."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    if len(names) != len(values):
        raise ValueError(f"not columns of {model.__name__}: {set(values) - set(names)}")
    return model.from_db(alias, names, [values[name] for name in names])
