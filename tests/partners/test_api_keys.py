from __future__ import annotations

import hashlib

import pytest
from django.contrib.auth.hashers import get_hashers
from rest_framework.test import APIClient

from partners import services
from partners.models import Channel, ChannelApiKey, ChannelType, Partner, PartnerType

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def web():
    return Channel.objects.create(code="web", name="Web store", type=ChannelType.WEB)


@pytest.fixture
def pos():
    return Channel.objects.create(code="pos", name="Stores", type=ChannelType.POS)


def client_with(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def test_a_channel_key_authenticates_only_its_own_channel(web, pos):
    key = services.channel_key_issue(channel=web)
    client = client_with(key.raw_key)
    assert client.get("/api/v1/channels/web/").status_code == 200
    other = client.get("/api/v1/channels/pos/")
    assert other.status_code == 404  # not yours looks like absent: no enumeration
    assert other.json()["code"] == "not_found"
    listed = client.get("/api/v1/channels/").json()
    assert [c["code"] for c in listed["results"]] == ["web"]


def test_the_x_api_key_header_works_too(web):
    key = services.channel_key_issue(channel=web)
    assert APIClient().get("/api/v1/channels/web/", HTTP_X_API_KEY=key.raw_key).status_code == 200


def test_a_revoked_key_gets_401_and_a_sibling_key_still_works(web):
    first = services.channel_key_issue(channel=web, name="old")
    second = services.channel_key_issue(channel=web, name="new")
    services.channel_key_revoke(key_id=first.id)
    response = client_with(first.raw_key).get("/api/v1/channels/web/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == "Api-Key"
    assert client_with(second.raw_key).get("/api/v1/channels/web/").status_code == 200


@pytest.mark.parametrize(
    "raw",
    ["", "ck_short_x", "ck_0123456789ab_wrongsecret", "garbage", "pk_0123456789ab_nope"],
)
def test_malformed_or_unknown_keys_get_401(web, raw):
    services.channel_key_issue(channel=web)
    response = client_with(raw).get("/api/v1/channels/web/")
    assert response.status_code == 401
    assert set(response.json()) == {"code", "message", "fields"}


def test_a_key_of_an_inactive_channel_is_refused(web):
    key = services.channel_key_issue(channel=web)
    Channel.objects.filter(pk=web.pk).update(active=False)
    assert client_with(key.raw_key).get("/api/v1/channels/web/").status_code == 401


def test_keys_are_stored_as_sha256_and_shown_once(web):
    key = services.channel_key_issue(channel=web)
    row = ChannelApiKey.objects.get(pk=key.id)
    assert services.KEY_SCHEME == "sha256"
    assert row.key_hash == hashlib.sha256(key.raw_key.encode()).hexdigest()
    assert key.raw_key not in {row.key_hash, row.prefix, row.name}
    assert key.raw_key.startswith(f"ck_{row.prefix}_") and len(key.raw_key) > 50


def test_key_lookup_is_one_query_and_never_uses_the_password_hasher(
    web, django_assert_num_queries, monkeypatch
):
    key = services.channel_key_issue(channel=web)
    services.channel_key_authenticate(key.raw_key)  # first use stamps last_used_at
    called = []
    for hasher in get_hashers():
        # Recorded, not replaced: the real hasher still runs if anything calls it.
        original = hasher.verify
        monkeypatch.setattr(hasher, "verify", lambda *a, _o=original, **k: called.append(1) or _o(*a, **k))
    with django_assert_num_queries(1):
        found = services.channel_key_authenticate(key.raw_key)
    assert found is not None and found.channel.code == "web"
    assert called == []


def test_last_used_is_stamped_at_most_once_a_minute(web, django_assert_num_queries):
    key = services.channel_key_issue(channel=web)
    with django_assert_num_queries(2):  # lookup + stamp
        services.channel_key_authenticate(key.raw_key)
    assert ChannelApiKey.objects.get(pk=key.id).last_used_at is not None
    with django_assert_num_queries(1):  # lookup only
        services.channel_key_authenticate(key.raw_key)


def test_partner_credentials_authenticate_partners_not_channels(web):
    partner = Partner.objects.create(code="3pl-east", name="East 3PL", type=PartnerType.THIRD_PARTY_LOGISTICS)
    cred = services.partner_credential_issue(partner=partner)
    client = client_with(cred.raw_key)
    # A partner is authenticated but is not a channel: it sees no channel data.
    response = client.get("/api/v1/channels/")
    assert response.status_code == 200 and response.json()["results"] == []
    assert services.channel_key_authenticate(cred.raw_key) is None
    services.partner_credential_revoke(credential_id=cred.id)
    assert client.get("/api/v1/channels/").status_code == 401


def test_anonymous_callers_are_refused(web):
    response = APIClient().get("/api/v1/channels/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
