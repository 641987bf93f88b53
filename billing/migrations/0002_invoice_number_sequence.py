"""Invoice numbers come from a PostgreSQL sequence (no counter row to queue on); SQLite uses the
insert-only `billing_invoice_number` table."""

from django.db import migrations

SEQUENCE = "billing_invoice_number_seq"


def create_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE} START WITH 100001")


def drop_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_billing_initial")]

    operations = [migrations.RunPython(create_sequence, drop_sequence)]
