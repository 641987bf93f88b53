"""Order numbers come from a PostgreSQL sequence, so captures never queue on a counter row.
SQLite has no sequences; there the insert-only `orders_order_number` table hands out rowids."""

from django.db import migrations

SEQUENCE = "orders_order_number_seq"


def create_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE} START WITH 100001")


def drop_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_orders_initial")]

    operations = [migrations.RunPython(create_sequence, drop_sequence)]
