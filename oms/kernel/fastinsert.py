"""INSERTs for the hottest write paths, without the ORM's per-call statement compilation.

`Model.save()` and `bulk_create()` rebuild the INSERT statement on every call; for a wide row
(an order has thirty columns) that costs several times what the database spends storing it, on
every capture. `insert(objs)` writes the same row(s) with a statement built once per model and
row count, from the model's own fields: every value goes through the field's `pre_save` and
`get_db_prep_save`, exactly as the ORM does, and the primary keys come back into the objects.

Like `bulk_create`, it sends no `pre_save`/`post_save` signals; a model that has receivers for
them is saved through the ORM instead, so a receiver added later is never skipped.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from django.db import connection
from django.db.models import Model
from django.db.models.signals import post_save, pre_save


@functools.cache
def _statement(model: type[Model], rows: int, vendor: str) -> tuple[str, tuple, bool]:
    meta = model._meta
    quote = connection.ops.quote_name
    fields = tuple(f for f in meta.concrete_fields if not (f.primary_key and f.db_returning))
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    returning = connection.features.can_return_rows_from_bulk_insert
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES {', '.join([placeholders] * rows)}"
    )
    if returning:
        sql += f" RETURNING {quote(meta.pk.column)}"
    return sql, fields, returning


def insert(objs: Sequence[Model]) -> None:
    """INSERT `objs` (all of one model, unsaved) in one statement and set their primary keys."""
    if not objs:
        return
    model = type(objs[0])
    if pre_save.has_listeners(model) or post_save.has_listeners(model):
        for obj in objs:
            obj.save(force_insert=True)
        return
    sql, fields, returning = _statement(model, len(objs), connection.vendor)
    if not returning and len(objs) > 1:  # the keys of several rows need INSERT ... RETURNING
        model._default_manager.bulk_create(objs)
        return
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning:
            pks = [row[0] for row in cursor.fetchall()]
        else:
            pks = [connection.ops.last_insert_id(cursor, model._meta.db_table, model._meta.pk.column)]
    for obj, pk in zip(objs, pks, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
