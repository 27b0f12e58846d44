"""Querysets whose SQL is built once per worker and then run with other values.

Building a complex queryset (resolving its Q objects and subqueries, compiling its SQL) can
cost several times what running it does. `prepared_rows` builds it once with marker values
where the values that change between runs go, keeps its SQL and the places of the markers
among its parameters, and runs that SQL with the real values; `prepared_update` does the same
for an UPDATE. `prepared_insert` saves a new row by an INSERT built once per model.
"""

from datetime import UTC, datetime
from functools import lru_cache

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.models import AutoField, Model
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import InsertQuery, UpdateQuery

from .caching import LocalCache

_statements = LocalCache(256)
PREPARED_TTL = 24 * 60 * 60  # the SQL depends on no data: this only bounds an unused entry
_UNPREPARABLE = "unpreparable"


class _NotOneStatement(Exception):
    """The ORM runs this update otherwise than as one statement of its own SQL: it updates
    a parent's table too, or orders the rows it updates."""


def prepared_rows(key, build, **values):
    """The rows (dicts) of `build(**values)`, a queryset of `.values()` rows whose SQL
    differs between runs only in `values` (ints, strings and aware datetimes), built once
    per `key`.

    Rows are as the database gives them, without the ORM's conversions: select plain
    numbers and text only, or a model's columns for `model_from_row`, which converts them.
    A queryset in which a marker does not come out as a parameter of its own is run through
    the ORM each time."""
    statement = _statement(key, _select_sql, build, values)
    if statement is None:
        return list(build(**values))
    alias, sql, params = statement
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def prepared_update(key, build, **values):
    """What `queryset.update(**changes)` does, where `build(**values)` gives
    `(queryset, changes)`, by SQL built once per `key` as `prepared_rows` builds it: the
    number of rows changed. An update of a model with parents, or one ordered, goes through
    the ORM."""
    statement = _statement(key, _update_sql, build, values)
    if statement is None:
        queryset, changes = build(**values)
        return queryset.update(**changes)
    alias, sql, params = statement
    connection = connections[alias]
    with transaction.mark_for_rollback_on_error(using=alias), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def prepared_insert(instance):
    """Save the new `instance` as `instance.save(force_insert=True)` does (its fields'
    `pre_save`, the pre_save and post_save signals, the id the database gives it), by an
    INSERT built once per model. Models with a `save()` of their own, parents or an
    `order_with_respect_to` go through `save()`; values that are expressions, through the
    ORM's INSERT."""
    model = type(instance)
    meta = model._meta
    if not _inserted_plainly(instance):
        instance.save(force_insert=True)
        return instance
    using = router.db_for_write(model, instance=instance)
    connection = connections[using]
    instance._prepare_related_fields_for_save(operation_name="save")
    pre_save.send(sender=model, instance=instance, raw=False, using=using, update_fields=None)
    if not instance._is_pk_set(meta):
        setattr(instance, meta.pk.attname, meta.pk.get_pk_value_on_save(instance))
    pk_set = instance._is_pk_set(meta)
    fields = [
        field
        for field in meta.local_concrete_fields
        if not field.generated and (pk_set or field is not meta.auto_field)
    ]
    values = [field.pre_save(instance, True) for field in fields]
    key = ("insert", model, using, pk_set)
    statement = _statements.get(key)
    if statement is None:
        statement = _insert_sql(instance, fields, using)
        _statements.set(key, statement, PREPARED_TTL)
    expressions = any(hasattr(value, "resolve_expression") for value in values)
    with transaction.mark_for_rollback_on_error(using=using):
        if statement == _UNPREPARABLE or expressions:
            returned = _insert_by_the_orm(instance, fields, using)
        else:
            sql, returning_params = statement
            params = [
                field.get_db_prep_save(value, connection=connection)
                for field, value in zip(fields, values, strict=True)
            ]
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                returned = _returned(cursor, connection, meta, returning_params)
    for field, value in returned:
        setattr(instance, field.attname, value)
    instance._state.adding = False
    instance._state.db = using
    post_save.send(
        sender=model, instance=instance, created=True, update_fields=None, raw=False, using=using
    )
    return instance


def _inserted_plainly(instance):
    """Whether `Model.save` would insert `instance` with one INSERT of its own table."""
    meta = instance._meta
    return type(instance).save is Model.save and not meta.parents and not meta.order_with_respect_to


def _insert_sql(instance, fields, using):
    """(SQL, returning parameters) of the INSERT the ORM makes for `instance`, or
    _UNPREPARABLE when one of its values is not one plain parameter of it."""
    model = type(instance)
    query = InsertQuery(model)
    query.insert_values(fields, [instance], raw=True)  # the values as they are: pre_save is done
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = model._meta.db_returning_fields
    [(sql, params)] = compiler.as_sql()
    placeholders = ", ".join(["%s"] * len(fields))
    if len(params) != len(fields) or f"VALUES ({placeholders})" not in sql:
        return _UNPREPARABLE
    return sql, compiler.returning_params


def _insert_by_the_orm(instance, fields, using):
    """[(field, value)] the database gave the new row, inserted as `Model.save` inserts it."""
    returning_fields = instance._meta.db_returning_fields
    results = type(instance)._base_manager._insert(
        [instance], fields=fields, returning_fields=returning_fields, using=using, raw=True
    )
    # As Model.save: a backend that gives back only the id gives one value.
    return list(zip(returning_fields, results[0], strict=False)) if results else []


def _returned(cursor, connection, meta, returning_params):
    """[(field, value)] of the columns the database gave the new row, converted."""
    fields = meta.db_returning_fields
    if not fields:
        return []
    if connection.features.can_return_columns_from_insert:
        row = connection.ops.fetch_returned_insert_columns(cursor, returning_params)
    elif isinstance(fields[0], AutoField):
        fields = fields[:1]
        row = (connection.ops.last_insert_id(cursor, meta.db_table, fields[0].column),)
    else:
        return []
    returned = []
    for field, value in zip(fields, row, strict=True):
        column, converters = _column_converters(field, connection)
        for converter in converters:
            value = converter(value, column, connection)
        returned.append((field, value))
    return returned


def _statement(key, compile_sql, build, values):
    """(database alias, SQL, parameters with `values` in place) for `key`, or None when it
    is to be run through the ORM."""
    if not all(_fits_a_column(value) for value in values.values()):
        return None  # the ORM knows no row can match (a 404, not a 500)
    statement = _statements.get(key)
    if statement is None:
        statement = _prepare(lambda **given: compile_sql(build(**given)), values)
        _statements.set(key, statement, PREPARED_TTL)
    if statement == _UNPREPARABLE:
        return None
    alias, sql, params, places = statement
    params = list(params)
    for name, positions in places.items():
        value = _as_parameter(values[name], alias)
        for position in positions:
            params[position] = value
    return alias, sql, params


def _select_sql(queryset):
    return queryset.db, *queryset.query.get_compiler(using=queryset.db).as_sql()


def _update_sql(built):
    """The SQL of `queryset.update(**changes)` for `built = (queryset, changes)`."""
    queryset, changes = built
    if queryset.query.is_sliced:
        raise TypeError("Cannot update a query once a slice has been taken.")
    queryset._not_support_combined_queries("update")
    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(changes)
    query.clear_select_clause()
    if query.related_updates or query.order_by:
        raise _NotOneStatement
    alias = queryset._db or router.db_for_write(queryset.model, **queryset._hints)
    return alias, *query.get_compiler(alias).as_sql()


def _fits_a_column(value):
    if not isinstance(value, int):
        return True
    smallest, biggest = connections[DEFAULT_DB_ALIAS].ops.integer_field_range("BigIntegerField")
    return smallest <= value <= biggest


def model_columns(model, prefix=""):
    """The `.values()` names of `model`'s concrete columns (under `prefix`, a relation's
    path and "__"), as `model_from_row` reads them."""
    return [prefix + field.attname for field in model._meta.concrete_fields]


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
        column, converters = _column_converters(field, connection)
        if converters:
            conversions.append((index, converters, column))
    return model_columns(model), conversions


@lru_cache(maxsize=256)
def _column_converters(field, connection):
    """(the field's column, the converters the ORM applies to what it reads of it)."""
    column = field.get_col(field.model._meta.db_table)
    return column, connection.ops.get_db_converters(column) + column.get_db_converters(connection)


def _prepare(compile_sql, values):
    """(database alias, SQL, parameters, {name: positions of its marker}), or _UNPREPARABLE
    when the SQL built with the markers is not the SQL built with `values` with those
    parameters in other places: the query's shape depends on a value (None, a list), or a
    value is also a parameter of its own."""
    markers = {
        name: _marker(name, value, index) for index, (name, value) in enumerate(values.items())
    }
    try:
        alias, sql, params = compile_sql(**markers)
        _, real_sql, real_params = compile_sql(**values)
    except (EmptyResultSet, FullResultSet, _NotOneStatement):
        return _UNPREPARABLE
    marked = {name: _as_parameter(marker, alias) for name, marker in markers.items()}
    places = {
        name: [position for position, param in enumerate(params) if param == marked[name]]
        for name in markers
    }
    replaced = list(params)
    for name, positions in places.items():
        for position in positions:
            replaced[position] = _as_parameter(values[name], alias)
    if not all(places.values()) or sql != real_sql or replaced != list(real_params):
        return _UNPREPARABLE
    return alias, sql, tuple(params), places


def _marker(name, value, index):
    """A value of the type of `value` that no query of the site holds of itself, and that
    fits any integer column."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return datetime(1970, 1, 1, 0, 0, 0, index + 1, tzinfo=UTC)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(
            f"{name}: only ints, strings and aware datetimes can be marked, not {value!r}"
        )
    if isinstance(value, int):
        return 2_147_480_000 + index
    return f"\x00evr-marker-{index}-{name}"


def _as_parameter(value, alias):
    """`value` as the ORM passes it to the database: a datetime as a DateTimeField's (a
    marked datetime compared with any other kind of column is found in no place, and the
    queryset is run through the ORM)."""
    if isinstance(value, datetime):
        return connections[alias].ops.adapt_datetimefield_value(value)
    return value
