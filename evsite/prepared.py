"""Querysets whose SQL is built once per worker and then run with other values.

Building a complex queryset (resolving its Q objects and subqueries, compiling its SQL) can
cost several times what running it does. `prepared_rows` builds it once with marker values
where the values that change between runs go, keeps its SQL and the places of the markers
among its parameters, and runs that SQL with the real values.
"""

from functools import lru_cache

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import DEFAULT_DB_ALIAS, connections

from .caching import LocalCache

_statements = LocalCache(256)
PREPARED_TTL = 24 * 60 * 60  # the SQL depends on no data: this only bounds an unused entry
_UNPREPARABLE = "unpreparable"


def prepared_rows(key, build, **values):
    """The rows (dicts) of `build(**values)`, a queryset of `.values()` rows whose SQL
    differs between runs only in `values` (ints and strings), built once per `key`.

    Rows are as the database gives them, without the ORM's conversions: select plain
    numbers and text only, or a model's columns for `model_from_row`, which converts them.
    A queryset in which a marker does not come out as a parameter of its own is run through
    the ORM each time."""
    if not all(_fits_a_column(value) for value in values.values()):
        return list(build(**values))  # the ORM knows no row can match (a 404, not a 500)
    statement = _statements.get(key)
    if statement is None:
        statement = _prepare(build, values)
        _statements.set(key, statement, PREPARED_TTL)
    if statement == _UNPREPARABLE:
        return list(build(**values))
    alias, sql, params, places = statement
    params = list(params)
    for name, positions in places.items():
        for position in positions:
            params[position] = values[name]
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _fits_a_column(value):
    if not isinstance(value, int):
        return True
    smallest, biggest = connections[DEFAULT_DB_ALIAS].ops.integer_field_range("BigIntegerField")
    return smallest <= value <= biggest


def model_from_row(model, row, *, using, prefix=""):
    """A `model` instance from a `prepared_rows` row that holds each of its concrete columns
    (under `prefix` + the field's attname), each value converted as the ORM converts what it
    reads (text to datetimes on SQLite, 0/1 to booleans...)."""
    connection = connections[using]
    attnames, conversions = _conversions(model, connection)
    values = [row[prefix + attname] for attname in attnames]
    for index, converters, column in conversions:
        for converter in converters:
            values[index] = converter(values[index], column, connection)
    return model.from_db(using, attnames, values)


@lru_cache(maxsize=64)
def _conversions(model, connection):
    """(the model's concrete attnames, [(index, converters, column)] for the fields that
    have any), for one connection (each thread has its own)."""
    conversions = []
    fields = model._meta.concrete_fields
    for index, field in enumerate(fields):
        column = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if converters:
            conversions.append((index, converters, column))
    return [field.attname for field in fields], conversions


def _prepare(build, values):
    """(database alias, SQL, parameters, {name: positions of its marker}), or _UNPREPARABLE
    when the SQL built with the markers is not the SQL built with `values` with those
    parameters in other places: the query's shape depends on a value (None, a list), or a
    value is also a parameter of its own."""
    markers = {
        name: _marker(name, value, index) for index, (name, value) in enumerate(values.items())
    }
    try:
        marked, real = build(**markers), build(**values)
        sql, params = marked.query.get_compiler(using=marked.db).as_sql()
        real_sql, real_params = real.query.get_compiler(using=real.db).as_sql()
    except (EmptyResultSet, FullResultSet):
        return _UNPREPARABLE
    places = {
        name: [position for position, param in enumerate(params) if param == marker]
        for name, marker in markers.items()
    }
    replaced = list(params)
    for name, positions in places.items():
        for position in positions:
            replaced[position] = values[name]
    if not all(places.values()) or sql != real_sql or replaced != list(real_params):
        return _UNPREPARABLE
    return marked.db, sql, tuple(params), places


def _marker(name, value, index):
    """A value of the type of `value` that no query of the site holds of itself, and that
    fits any integer column."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"{name}: only ints and strings can be marked, not {value!r}")
    if isinstance(value, int):
        return 2_147_480_000 + index
    return f"\x00evr-marker-{index}-{name}"
