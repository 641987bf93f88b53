"""Staff users, one per role, and the admin login."""

from __future__ import annotations

from base64 import b32encode

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django_otp.plugins.otp_totp.models import TOTPDevice

from oms.kernel.roles import Role, role_sync

from .base import Context

STAFF_USERNAMES = {
    Role.ORDER_DESK: "orderdesk",
    Role.FULFILLMENT: "fulfillment",
    Role.PRICING_ADMIN: "pricing",
    Role.FINANCE: "finance",
    Role.APPROVER: "approver",
    Role.ADMIN: "opsadmin",
}


def users(ctx: Context) -> None:
    role_sync()
    User = get_user_model()
    ctx.write("Staff users (one per role):")
    for role, username in STAFF_USERNAMES.items():
        user, created = User.objects.get_or_create(
            username=username, defaults={"is_staff": True, "email": f"{username}@oms.example"}
        )
        if created:
            user.set_password(ctx.password)
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=Role(role).label))
        note = f"password {ctx.password}" if created else "existing user, password unchanged"
        ctx.write(f"    {username:<12} {Role(role).label:<14} {note}")
    admin, created = User.objects.get_or_create(
        username="admin",
        defaults={"is_staff": True, "is_superuser": True, "email": "admin@oms.example"},
    )
    if created:
        admin.set_password(ctx.password)
        admin.save(update_fields=["password"])
    note = "" if created else " (existing user: password as first seeded unless changed)"
    ctx.write(ctx.style.SUCCESS(f"Admin login: admin / {ctx.password}{note}  at /admin/"))
    # The admin role signs in with a second factor (OMS_2FA_REQUIRED_ROLES): the demo admin gets
    # an authenticator secret to add to any TOTP app; finance and approver enrol at first sign-in.
    device, _ = TOTPDevice.objects.get_or_create(
        user=admin, name="demo authenticator", defaults={"confirmed": True}
    )
    secret = b32encode(device.bin_key).decode()
    ctx.write(ctx.style.SUCCESS(f"Admin TOTP secret: {secret}  (add it to an authenticator app)"))
    ctx.write(f"    {device.config_url}")
