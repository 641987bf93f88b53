"""The schema says exactly what the API accepts: one regression test per failure of
`schemathesis --checks all` (issue: 4 invalid requests accepted, 7 valid ones refused)."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import call_command

from orders.models import SalesOrder
from partners.services import channel_key_issue
from tests.orders.conftest import api_get, api_post, build_world, order_body

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def schema(client) -> dict:
    return json.loads(client.get("/api/schema/?format=json").content)


@pytest.fixture
def order(client, world) -> dict:
    response = api_post(client, "/api/v1/orders", order_body("T-1"), key=world.web.key)
    assert response.status_code == 201, response.content
    return response.json()


def _param(schema: dict, path: str, name: str) -> dict:
    return next(p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name)["schema"]


def _body(schema: dict, path: str) -> dict:
    return schema["paths"][path]["post"]["requestBody"]["content"]


def _component(schema: dict, ref: str) -> dict:
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def _allows(param: dict, value: str) -> bool:
    """Whether a query string value is valid for the parameter's (string) schema."""
    if "enum" in param:
        return value in param["enum"]
    if len(value) < param.get("minLength", 0):
        return False
    return not param.get("pattern") or re.search(param["pattern"], value) is not None


# --- valid requests that were refused: the schema now forbids them, or the API accepts them ------


def test_availability_blank_or_zero_parameters_are_outside_the_schema_and_refused(client, world, schema):
    path = "/api/v1/availability"
    assert not _allows(_param(schema, path, "quantity"), "0")
    assert not _allows(_param(schema, path, "demand_class"), "")
    assert not _allows(_param(schema, path, "ship_to_country"), "")
    assert not _allows(_param(schema, path, "sku")["items"], "")
    for query in (
        "sku=DRILL-1&quantity=0",
        "sku=DRILL-1&demand_class=",
        "sku=",
        "sku=DRILL-1&ship_to_country=",
    ):
        assert api_get(client, f"{path}?{query}", key=world.web.key).status_code == 400, query
    ok = api_get(
        client, f"{path}?sku=DRILL-1&quantity=1&date=2000-01-01&demand_class=strategic", key=world.web.key
    )
    assert ok.status_code == 200, ok.content


@pytest.mark.parametrize("path", ["/api/v1/availability/batch", "/api/v1/prices"])
def test_bodies_are_advertised_and_read_as_json_only(client, world, schema, path):
    assert set(_body(schema, path)) == {"application/json"}
    form = client.post(path, {"currency": "USD"}, HTTP_AUTHORIZATION=f"Api-Key {world.web.key}")
    assert form.status_code == 415, form.content
    assert form.json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/quotes"])
def test_the_schemas_examples_name_what_the_demo_data_has_and_are_accepted(client, schema, path):
    """The operation's request examples, sent as the demo's web channel to the demo data set
    (they named `DRILL-1`, which only the test worlds have: 400 "Unknown SKU")."""
    call_command("seed_demo", stdout=StringIO())
    from partners.models import Channel

    key = channel_key_issue(channel=Channel.objects.get(code="web"), name="examples").raw_key
    examples = _body(schema, path)["application/json"]["examples"]
    assert examples
    for example in examples.values():
        response = api_post(client, path, example["value"], key=key)
        assert response.status_code in (200, 201), (path, response.content)


def test_cancel_with_an_extra_field_is_forbidden_by_the_schema_and_refused(client, world, schema, order):
    body = _component(
        schema, _body(schema, "/api/v1/orders/{number}/cancel")["application/json"]["schema"]["$ref"]
    )
    assert body["additionalProperties"] is False
    response = api_post(
        client, f"/api/v1/orders/{order['number']}/cancel", {"reason": "dup", "extra": 1}, key=world.web.key
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"extra": ["Unknown or read-only field."]}
    # Every request body says so: one rule for the whole API.
    for name, component in schema["components"]["schemas"].items():
        if name.endswith("Request") and component.get("type") == "object":
            assert component.get("additionalProperties") is False, name


def test_a_hold_on_a_line_the_order_does_not_have_is_a_404(client, world, order):
    from tests.factories.orders import HoldCodeFactory

    HoldCodeFactory(code="manual")
    response = api_post(
        client,
        f"/api/v1/orders/{order['number']}/holds",
        {"code": "manual", "reason": "check", "line_number": 2},
        key=world.web.key,
    )
    assert response.status_code == 404, response.content
    assert response.json()["fields"] == {"line_number": ["Unknown line."]}


# --- invalid requests that were accepted --------------------------------------------------------


def test_page_size_null_is_refused(client, world, schema):
    assert _param(schema, "/api/v1/channels/", "page_size") == {
        "type": "integer",
        "minimum": 1,
        "maximum": 500,
    }
    for value in ("null", "0", "501", "-1", "1.5"):
        response = api_get(client, f"/api/v1/channels/?page_size={value}", key=world.web.key)
        assert response.status_code == 400, value
        assert "page_size" in response.json()["fields"]
    assert api_get(client, "/api/v1/channels/?page_size=500", key=world.web.key).status_code == 200
    assert api_get(client, "/api/v1/orders?page_size=null", key=world.web.key).status_code == 400


def test_a_blank_or_malformed_page_is_refused(client, world, schema):
    assert _param(schema, "/api/v1/rebates/claims/", "page") == {"type": "integer", "minimum": 1}
    for value in ("", "0", "-1", "x", "1.5"):
        response = api_get(client, f"/api/v1/channels/?page={value}", key=world.web.key)
        assert response.status_code == 400, value
        assert "page" in response.json()["fields"]
    assert api_get(client, "/api/v1/channels/?page=1", key=world.web.key).status_code == 200
    assert api_get(client, "/api/v1/channels/?page=99", key=world.web.key).status_code == 404


def test_a_blank_filter_is_refused(client, world, schema, order):
    assert "" not in _param(schema, "/api/v1/orders", "status")["enum"]
    response = api_get(client, "/api/v1/orders?status=", key=world.web.key)
    assert response.status_code == 400
    assert "status" in response.json()["fields"]
    assert api_get(client, "/api/v1/orders?sku=%20", key=world.web.key).status_code == 400
    assert api_get(client, "/api/v1/orders?include_superseded=maybe", key=world.web.key).status_code == 400
    assert api_get(client, "/api/v1/orders?status=open", key=world.web.key).status_code == 200


def test_revision_null_is_refused(client, world, schema, order):
    assert _param(schema, "/api/v1/orders/{number}", "revision")["type"] == "integer"
    number = order["number"]
    for value in ("null", "0", "x", ""):
        assert (
            api_get(client, f"/api/v1/orders/{number}?revision={value}", key=world.web.key).status_code == 400
        )
    assert api_get(client, f"/api/v1/orders/{number}?revision=1", key=world.web.key).status_code == 200


@pytest.mark.parametrize(
    "body, field",
    [({"reason": 0}, "reason"), ({"reason": ["x"]}, "reason"), ({"reason": True}, "reason")],
)
def test_a_reason_that_is_not_a_string_is_refused(client, world, order, body, field):
    response = api_post(client, f"/api/v1/orders/{order['number']}/cancel", body, key=world.web.key)
    assert response.status_code == 400, response.content
    assert response.json()["fields"] == {field: ["Must be a string."]}
    assert SalesOrder.objects.get(number=order["number"], is_current=True).status != "canceled"


LINE_QTY = "lines[0].quantity"


def test_values_of_the_wrong_json_type_are_refused_throughout(client, world):
    cases = [
        ({"revision": "1"}, "revision", "Must be an integer."),
        ({"revision": True}, "revision", "Must be an integer."),
        ({"lines": [{"source_line_id": "1", "sku": "DRILL-1", "quantity": 2}]}, "lines[0].quantity", None),
        (
            {"lines": [{"source_line_id": "1", "sku": "DRILL-1", "quantity": "2e0"}]},
            "lines[0].quantity",
            None,
        ),
        ({"customer": {"account_number": 1}}, "customer.account_number", "Must be a string."),
    ]
    for extra, field, message in cases:
        response = api_post(client, "/api/v1/orders", order_body("T-9", **extra), key=world.web.key)
        assert response.status_code == 400, (extra, response.content)
        fields = response.json()["fields"]
        assert field in fields, (extra, fields)
        if message:
            assert fields[field] == [message]
    assert not SalesOrder.objects.filter(source_order_id="T-9").exists()


# --- found by the full fuzz run (tests/fuzz/test_api_schemathesis.py) ---------------------------


def test_options_is_a_405_with_the_allowed_methods_not_a_500(client, world):
    response = client.options("/api/v1/orders", HTTP_AUTHORIZATION=f"Api-Key {world.web.key}")
    assert response.status_code == 405
    assert {"GET", "POST"} <= {m.strip() for m in response["Allow"].split(",")}


def test_a_blank_cursor_is_refused(client, world, schema):
    assert _param(schema, "/api/v1/orders", "cursor")["minLength"] == 1
    assert api_get(client, "/api/v1/orders?cursor=", key=world.web.key).status_code == 400


def test_slug_parameters_keep_their_own_pattern(client, world, schema, order):
    param = _param(schema, "/api/v1/orders/by-source/{source_order_id}", "channel")
    assert param["pattern"] == "^[-a-zA-Z0-9_]+$"
    response = api_get(client, "/api/v1/orders/by-source/T-1?channel=no%20slug", key=world.web.key)
    assert response.status_code == 400


def test_the_idempotency_key_header_is_described_as_checked(client, world, schema):
    header = next(
        p for p in schema["paths"]["/api/v1/orders"]["post"]["parameters"] if p["name"] == "Idempotency-Key"
    )["schema"]
    assert header["maxLength"] == 255 and not re.search(header["pattern"], " padded ")
    for bad in ("é", "x" * 256):
        response = client.post(
            "/api/v1/orders",
            data=json.dumps(order_body("T-K")),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Api-Key {world.web.key}",
            HTTP_IDEMPOTENCY_KEY=bad,
        )
        assert response.status_code == 400
        assert "Idempotency-Key" in response.json()["fields"]


def test_creates_link_to_what_acts_on_their_result(schema):
    """OpenAPI links drive the stateful phase of the fuzz test."""
    responses = schema["paths"]["/api/v1/orders"]["post"]["responses"]["201"]
    targets = {link["operationId"] for link in responses["links"].values()}
    assert {"orders_retrieve", "orders_cancel", "orders_hold_apply"} <= targets
    hold = schema["paths"]["/api/v1/orders/{number}/holds"]["post"]["responses"]["201"]["links"][
        "ReleaseHold"
    ]
    assert hold["parameters"] == {"number": "$request.path.number", "hold_id": "$response.body#/id"}


def test_text_is_measured_as_sent_not_after_trimming(client, world, order):
    """A reason of 500 characters plus padding is over the schema's maxLength: refused, although
    DRF would trim it to 500 (found by the fuzz test: it was accepted)."""
    padded = "\f" + "x" * 500 + "  "
    response = api_post(
        client, f"/api/v1/orders/{order['number']}/cancel", {"reason": padded}, key=world.web.key
    )
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    assert api_get(client, "/api/v1/orders?sku=" + "x" * 64 + "%20", key=world.web.key).status_code == 400


def test_a_country_is_two_ascii_letters_in_the_schema_and_the_api(client, world, schema, admin_client):
    assert _param(schema, "/api/v1/warehouses/", "country")["pattern"] == "^[A-Za-z]{2}$"
    assert _param(schema, "/api/v1/availability", "ship_to_country")["pattern"] == "^[A-Za-z]{2}$"
    # A control character the form would trim to one letter was a 400 for a schema-valid value.
    assert admin_client.get("/api/v1/warehouses/?country=%C2%97%1F").status_code == 400
    assert admin_client.get("/api/v1/warehouses/?country=us").status_code == 200
    response = api_get(client, "/api/v1/availability?sku=DRILL-1&ship_to_country=%20US", key=world.web.key)
    assert response.status_code == 400
