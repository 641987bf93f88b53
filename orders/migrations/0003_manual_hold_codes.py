"""The hold codes people apply by hand (the system creates its own credit and compliance codes on
first use). Each names who may apply and who may release it, so the order page offers a person
only the holds they may place and lift. Existing codes with the same name are left as they are."""

from django.db import migrations

MANUAL_HOLD_CODES = [
    # code, name, stops, apply roles, release roles
    ("customer-request", "Customer request", "all", ["order_desk"], ["order_desk", "approver"]),
    (
        "address-check",
        "Address check",
        "shipping",
        ["order_desk", "fulfillment"],
        ["order_desk", "fulfillment"],
    ),
    ("payment-check", "Payment check", "all", ["order_desk", "finance"], ["finance"]),
    ("manager-review", "Manager review", "all", ["order_desk", "finance", "approver"], ["approver"]),
]


def add_codes(apps, schema_editor):
    HoldCode = apps.get_model("orders", "HoldCode")
    for code, name, stops, apply_roles, release_roles in MANUAL_HOLD_CODES:
        HoldCode.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "stops": stops,
                "is_system": False,
                "apply_roles": apply_roles,
                "release_roles": release_roles,
            },
        )


def remove_unused_codes(apps, schema_editor):
    HoldCode = apps.get_model("orders", "HoldCode")
    OrderHold = apps.get_model("orders", "OrderHold")
    codes = [row[0] for row in MANUAL_HOLD_CODES]
    used = set(OrderHold.objects.filter(hold_code__code__in=codes).values_list("hold_code__code", flat=True))
    HoldCode.objects.filter(code__in=set(codes) - used).delete()


class Migration(migrations.Migration):
    dependencies = [("orders", "0002_order_number_sequence")]

    operations = [migrations.RunPython(add_codes, remove_unused_codes)]
