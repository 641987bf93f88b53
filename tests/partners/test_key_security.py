"""API keys: rotation with an overlap, read/write scopes, address allowlists, last use shown in the
admin, revocation on the next request, and 429 for an address that keeps sending bad keys."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from orders.models import SalesOrder
from partners import services
from partners.models import Channel, ChannelApiKey, ChannelType, KeyScope
from tests.support.otp import login_verified

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def web():
    return Channel.objects.create(code="web", name="Web store", type=ChannelType.WEB)


@pytest.fixture(autouse=True)
def _fresh_bad_key_counters():
    cache.delete("oms:api-bad-key:127.0.0.1")
    cache.delete("oms:api-bad-key:203.0.113.9")
    yield


def call(raw_key: str, method: str = "get", path: str = "/api/v1/channels/web/", address="127.0.0.1"):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return getattr(client, method)(path, {} if method == "post" else None, format="json", REMOTE_ADDR=address)


def test_a_rotated_key_and_its_predecessor_both_work_until_the_expiry_then_only_the_new(web):
    old = services.channel_key_issue(channel=web, name="storefront", scope=KeyScope.WRITE)
    until = timezone.now() + timedelta(days=7)
    new = services.channel_key_rotate(key_id=old.id, expires_at=until)
    assert new.raw_key != old.raw_key
    successor = ChannelApiKey.objects.get(pk=new.id)
    assert successor.rotated_from_id == old.id and successor.scope == KeyScope.WRITE
    assert successor.name == "storefront" and successor.expires_at is None
    assert ChannelApiKey.objects.get(pk=old.id).expires_at == until

    assert call(old.raw_key).status_code == 200
    assert call(new.raw_key).status_code == 200
    # The overlap ends (the clock passes the expiry): only the successor works.
    ChannelApiKey.objects.filter(pk=old.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert call(old.raw_key).status_code == 401
    assert call(new.raw_key).status_code == 200


def test_rotation_defaults_to_the_configured_overlap_and_never_extends_an_expiry(web, settings):
    settings.OMS_API_KEY_ROTATION_OVERLAP_DAYS = 3
    first = services.channel_key_issue(channel=web)
    before = timezone.now()
    services.channel_key_rotate(key_id=first.id)
    expiry = ChannelApiKey.objects.get(pk=first.id).expires_at
    assert before + timedelta(days=3) <= expiry <= timezone.now() + timedelta(days=3)

    soon = timezone.now() + timedelta(hours=1)
    second = services.channel_key_issue(channel=web, expires_at=soon)
    services.channel_key_rotate(key_id=second.id, expires_at=timezone.now() + timedelta(days=30))
    assert ChannelApiKey.objects.get(pk=second.id).expires_at == soon


def test_a_read_only_key_reads_but_gets_403_on_a_write_and_nothing_is_written(web):
    reader = services.channel_key_issue(channel=web, scope=KeyScope.READ)
    writer = services.channel_key_issue(channel=web, scope=KeyScope.WRITE)
    assert call(reader.raw_key).status_code == 200
    refused = call(reader.raw_key, "post", "/api/v1/orders")
    assert refused.status_code == 403
    assert refused.json() == {
        "code": "permission_denied",
        "message": "This API key is read-only.",
        "fields": {},
    }
    # The same write with a write key gets past authentication (and is then validated: 400).
    assert call(writer.raw_key, "post", "/api/v1/orders").status_code == 400
    assert not SalesOrder.objects.exists()


def test_an_allowlisted_key_works_only_from_its_networks(web):
    key = services.channel_key_issue(channel=web, allowed_networks="203.0.113.0/24, 2001:db8::1")
    assert call(key.raw_key, address="203.0.113.9").status_code == 200
    refused = call(key.raw_key, address="198.51.100.1")
    assert refused.status_code == 403 and "address" in refused.json()["message"]
    with pytest.raises(ValueError):
        services.channel_key_issue(channel=web, allowed_networks="not-a-network")


def test_last_use_time_and_address_are_stamped_and_shown_in_the_admin(web, django_user_model):
    key = services.channel_key_issue(channel=web)
    assert call(key.raw_key, address="203.0.113.9").status_code == 200
    row = ChannelApiKey.objects.get(pk=key.id)
    assert row.last_used_ip == "203.0.113.9" and row.last_used_at is not None
    admin = login_verified(Client(), django_user_model.objects.create_superuser("root", "r@x.example", "pw"))
    listing = admin.get("/admin/partners/channelapikey/").content.decode()
    assert "203.0.113.9" in listing and key.prefix in listing


def test_the_last_used_stamp_is_one_conditional_write_a_minute(web, django_assert_num_queries):
    key = services.channel_key_issue(channel=web)
    with django_assert_num_queries(2):  # lookup + stamp
        services.channel_key_authenticate(key.raw_key, "203.0.113.9")
    with django_assert_num_queries(1):  # lookup only: the row read says it is fresh
        services.channel_key_authenticate(key.raw_key, "203.0.113.10")
    # A stale read (a concurrent request) still writes nothing: the UPDATE is conditional.
    row = ChannelApiKey.objects.get(pk=key.id)
    services._touch_last_used(ChannelApiKey, key.id, row.last_used_at - timedelta(minutes=5), "198.51.100.1")
    assert ChannelApiKey.objects.get(pk=key.id).last_used_ip == "203.0.113.9"


def test_revocation_takes_effect_on_the_next_request(web):
    key = services.channel_key_issue(channel=web)
    assert call(key.raw_key).status_code == 200
    services.channel_key_revoke(key_id=key.id)
    assert call(key.raw_key).status_code == 401


def test_repeated_bad_keys_from_one_address_get_429_even_for_a_good_key(web, settings):
    settings.OMS_API_BAD_KEY_LIMIT = 3
    good = services.channel_key_issue(channel=web)
    for n in range(3):
        assert call(f"ck_0123456789ab_guess{n}", address="203.0.113.9").status_code == 401
    blocked = call("ck_0123456789ab_guess9", address="203.0.113.9")
    assert blocked.status_code == 429 and "Retry-After" in blocked
    assert call(good.raw_key, address="203.0.113.9").status_code == 429  # no lucky guess gets through
    assert call(good.raw_key, address="127.0.0.1").status_code == 200  # other addresses are not affected
