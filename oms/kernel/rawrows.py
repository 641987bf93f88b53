"""Model instances from one hand-built SELECT, for reads that run on every order.

The ORM compiles a statement on every call; for a join read once per capture that costs more
than the database's answer. `Columns(model, alias)` names a model's concrete columns for a
SELECT and turns its slice of a row back into an instance with the backend's converters -- the
ORM's own -- so types are exactly what a queryset would give, on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Model


class Columns:
    def __init__(self, model: type[Model], alias: str):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        quote = connection.ops.quote_name
        self.sql = ", ".join(f"{alias}.{quote(f.column)}" for f in self.fields)
        self.width = len(self.fields)
        self._readers = []
        for field in self.fields:
            col = field.get_col(model._meta.db_table)
            self._readers.append(
                (col, connection.ops.get_db_converters(col) + col.get_db_converters(connection))
            )
        self._names = [f.attname for f in self.fields]
        self._pk_index = self.fields.index(model._meta.pk)

    def instance(self, row: tuple, start: int) -> Model | None:
        """The instance in row[start:start + width], or None when its primary key is NULL (an
        outer join that found nothing)."""
        values = []
        for value, (col, converters) in zip(row[start : start + self.width], self._readers, strict=True):
            for convert in converters:
                value = convert(value, col, connection)
            values.append(value)
        if values[self._pk_index] is None:
            return None
        return self.model.from_db(connection.alias, self._names, values)
