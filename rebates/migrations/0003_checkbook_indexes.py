"""Covering indexes for the checkbook on PostgreSQL (the claims work's reads of the accruals):

- the chart's earned-by-month per program reads (program, source date, amount, currency) from the
  index alone instead of one heap page per accrual;
- the unclaimed figure reads only the unclaimed accruals' (program, amount, currency), from a
  partial index that holds those rows only.

Raw SQL (INCLUDE and partial indexes of this shape are PostgreSQL's), so they are not part of the
model state; SQLite, which the bare-machine setup uses, does without them."""

from django.db import migrations

INDEXES = {
    "accrual_checkbook_month_cover": (
        "CREATE INDEX IF NOT EXISTS accrual_checkbook_month_cover ON rebates_accrual "
        "(program_id, source_date) INCLUDE (amount, currency)"
    ),
    "accrual_unclaimed_cover": (
        "CREATE INDEX IF NOT EXISTS accrual_unclaimed_cover ON rebates_accrual "
        "(program_id) INCLUDE (amount, currency) WHERE claimed_at IS NULL"
    ),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in INDEXES.values():
            schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("rebates", "0002_claims")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
