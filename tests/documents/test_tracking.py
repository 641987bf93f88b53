"""Every view or download is logged: in the staff UI, through the API and through a signed
customer link (one row each, shown on the document's page); a tampered, expired or wrong-purpose
link answers 403 and is logged; a customer's view moves the document to `viewed`."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core import signing
from django.test import Client
from rest_framework.test import APIClient

from documents import links
from documents.models import Document, DocumentView
from documents.services import document_issue, view_record
from documents.states import DocumentStatus, ViewChannel, ViewOutcome
from oms.kernel.roles import Role, role_sync
from tests.support.otp import login_verified

from .helpers import invoice_context

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def document() -> Document:
    return document_issue(
        doc_type="invoice",
        number="INV-200001",
        owner_type="invoice",
        owner_id="INV-200001",
        related_ref="order:SO-000777",
        context=invoice_context(),
        party_name="Ana Lima",
        party_email="ana@mail.example",
    )


@pytest.fixture
def clerk(django_user_model):
    role_sync()
    user = django_user_model.objects.create_user(username="clerk", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=Role.FINANCE.label))
    return user


def _views(document):
    return list(DocumentView.objects.filter(document=document).order_by("id"))


def test_staff_api_and_customer_link_each_write_one_row_and_the_page_shows_them(client, clerk, document):
    login_verified(client, clerk)
    r = client.get(f"/documents/{document.pk}/file", HTTP_USER_AGENT="StaffBrowser/1")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert b"".join(r.streaming_content).startswith(b"%PDF")

    api = APIClient()
    api.force_authenticate(clerk)
    r = api.get(f"/api/v1/documents/{document.pk}/file/", HTTP_USER_AGENT="ApiTool/2")
    assert r.status_code == 200 and b"".join(r.streaming_content).startswith(b"%PDF")

    url = links.view_url(document_id=document.pk, recipient="ana@mail.example")
    r = Client().get(url.split("localhost:8000")[1], HTTP_USER_AGENT="Phone/3", REMOTE_ADDR="198.51.100.7")
    assert r.status_code == 200 and b"".join(r.streaming_content).startswith(b"%PDF")

    rows = _views(document)
    assert [(v.channel, v.outcome) for v in rows] == [
        (ViewChannel.STAFF, ViewOutcome.SHOWN),
        (ViewChannel.API, ViewOutcome.SHOWN),
        (ViewChannel.LINK, ViewOutcome.SHOWN),
    ]
    assert rows[0].user == clerk and rows[0].user_agent == "StaffBrowser/1"
    assert rows[1].who == "clerk" and rows[1].user_agent == "ApiTool/2"
    assert rows[2].who == "ana@mail.example" and rows[2].ip == "198.51.100.7" and rows[2].link

    document.refresh_from_db()
    assert document.status == DocumentStatus.VIEWED  # the customer opened it

    page = client.get(f"/documents/{document.pk}/").content.decode()
    assert page.count('data-channel="') == 3
    assert "StaffBrowser/1" in page and "ApiTool/2" in page and "ana@mail.example" in page
    assert "issued → viewed" in page.replace("\n", " ")  # status history

    listed = api.get(f"/api/v1/documents/{document.pk}/views/?channel=link").json()
    assert [row["who"] for row in listed["results"]] == ["ana@mail.example"]


@pytest.mark.parametrize("how", ["tampered", "expired", "wrong purpose"])
def test_a_bad_link_is_refused_with_403_and_logged(how, document, settings):
    token = links.link_token(document_id=document.pk, recipient="ana@mail.example", purpose="view")
    if how == "tampered":
        # Point the link at another document: the signature no longer matches.
        other = signing.dumps({"d": document.pk + 1, "r": "ana@mail.example"}, salt="x", compress=True)
        token = other.split(":")[0] + token[token.index(":") :]
    elif how == "expired":
        settings.OMS_DOCUMENT_LINK_DAYS = -1
    else:
        token = links.link_token(document_id=document.pk, recipient="ana@mail.example", purpose="open")
    r = Client().get(f"/d/{token}", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Curious/1")
    assert r.status_code == 403
    assert b"%PDF" not in r.content
    refused = DocumentView.objects.get(outcome=ViewOutcome.REFUSED)
    assert refused.document is None and refused.channel == ViewChannel.LINK
    assert refused.ip == "203.0.113.9" and refused.user_agent == "Curious/1"
    assert refused.reason == ("expired" if how == "expired" else "bad signature")
    assert refused.link == links.fingerprint(token)
    document.refresh_from_db()
    assert document.status == DocumentStatus.ISSUED


def test_the_mail_open_pixel_records_viewed_for_the_recipient(document):
    url = links.open_url(document_id=document.pk, recipient="buyer@mail.example")
    r = Client().get(url.split("localhost:8000")[1])
    assert r.status_code == 200 and r["Content-Type"] == "image/gif"
    (row,) = _views(document)
    assert (row.channel, row.who, row.action) == (ViewChannel.EMAIL_OPEN, "buyer@mail.example", "open")
    document.refresh_from_db()
    assert document.status == DocumentStatus.VIEWED


def test_an_older_version_stays_downloadable_in_the_staff_ui(client, clerk, document):
    from documents.services import document_reissue

    second = document_reissue(document_id=document.pk, actor="clerk")
    login_verified(client, clerk)
    old = client.get(f"/documents/{document.pk}/file?download=1")
    assert old.status_code == 200 and "INV-200001-v1.pdf" in old["Content-Disposition"]
    assert client.get(f"/documents/{second.pk}/file").status_code == 200
    assert [v.action for v in DocumentView.objects.order_by("id")] == ["download", "view"]


def test_the_view_log_pages_and_its_query_count_does_not_grow(
    client, clerk, document, django_assert_max_num_queries
):
    DocumentView.objects.bulk_create(
        [DocumentView(document=document, channel=ViewChannel.STAFF, who=f"u{i}") for i in range(60)]
    )
    login_verified(client, clerk)
    with django_assert_max_num_queries(16):
        r = client.get(f"/documents/{document.pk}/?page=2")
    body = r.content.decode()
    assert body.count('data-channel="') == 25 and "26\N{EN DASH}50 of 60" in body


def test_a_user_without_a_role_sees_no_document(client, django_user_model, document):
    user = django_user_model.objects.create_user(username="nobody", password="x", is_staff=True)
    login_verified(client, user)
    assert client.get(f"/documents/{document.pk}/file").status_code == 403
    api = APIClient()
    api.force_authenticate(user)
    assert api.get(f"/api/v1/documents/{document.pk}/file/").status_code == 403
    assert not DocumentView.objects.exists()


def test_view_record_refused_never_advances_the_status(document):
    view_record(document_id=document.pk, channel=ViewChannel.LINK, refused="bad signature")
    document.refresh_from_db()
    assert document.status == DocumentStatus.ISSUED
