"""Units that are measured rather than counted (weight, volume, length) take three decimals;
every other existing unit keeps the default of whole numbers."""

from django.db import migrations

MEASURED = ["KG", "G", "LB", "OZ", "T", "L", "ML", "GAL", "M", "CM", "MM", "FT", "IN", "M2", "M3"]


def measured_three_decimals(apps, schema_editor):
    UnitOfMeasure = apps.get_model("catalog", "UnitOfMeasure")
    UnitOfMeasure.objects.filter(code__in=MEASURED).update(decimal_places=3)


def back_to_default(apps, schema_editor):
    UnitOfMeasure = apps.get_model("catalog", "UnitOfMeasure")
    UnitOfMeasure.objects.filter(code__in=MEASURED).update(decimal_places=0)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_unit_decimal_places")]

    operations = [migrations.RunPython(measured_three_decimals, back_to_default)]
