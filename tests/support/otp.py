"""Signing in staff who must give a second factor (OMS_2FA_REQUIRED_ROLES), the way a person does:
an enrolled TOTP device, and a session that has passed verification with it."""

from __future__ import annotations

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice


def totp_device(user) -> TOTPDevice:
    """The user's confirmed authenticator (created on first use)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="test phone", confirmed=True)


def totp_code(device: TOTPDevice) -> str:
    """The code the authenticator app shows now."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def recovery_code(user) -> str:
    """One more single-use recovery code for `user` (as if read from the printed list)."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name="recovery codes", defaults={"confirmed": True}
    )
    return device.token_set.create(token=StaticToken.random_token()).token


def verify_session(client, user) -> TOTPDevice:
    """Mark the client's session as verified with the user's device: what django_otp.login does
    after a correct code (tests/kernel/test_security.py goes through the real form)."""
    device = totp_device(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def login_verified(client, user):
    """force_login plus a verified second factor: every staff page and the admin open."""
    client.force_login(user)
    verify_session(client, user)
    return client
