"""Schemathesis against the live server's OpenAPI schema with every check (`--checks all`:
negative data rejection, positive data acceptance, ignored auth, use after free, resource
availability, conformance of status, content type, headers and body) and every phase (examples,
coverage, fuzzing, stateful), as a storefront (a channel key), as staff (a session) and as a
warehouse partner, against a world with orders in several states, fulfillment processes,
shipments and invoices built through the services (the path users take).

Generation is random, seeded per run: the seed is printed, and `OMS_FUZZ_SEED=<seed>` replays a
run. `OMS_FUZZ_MAX_EXAMPLES` sets the examples per operation (default 5, so that the three runs
stay near three minutes on two cores).

Checks relaxed, each with its reason (POSITIVE_MAY_REFUSE below): a schema-valid request may still
be refused with 400 where it names catalogue data (a SKU, customer, warehouse, supplier, hold
code, channel) that does not exist, or breaks a cross-field rule (From after To): OpenAPI cannot
enumerate a catalogue. Everything else answers what the schema says.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.support.otp import login_verified
from tests.support.services import ROOT

pytestmark = [pytest.mark.fuzz, pytest.mark.postgres, pytest.mark.integration]

MAX_EXAMPLES = os.environ.get("OMS_FUZZ_MAX_EXAMPLES", "5")
SEED = int(os.environ.get("OMS_FUZZ_SEED") or time.time_ns() % 2**31)

# Operations whose schema-valid bodies or parameters name data that may not exist: 400 is their
# documented answer for that (e.g. `unknown_sku`), so positive data acceptance also takes a 400.
POSITIVE_MAY_REFUSE = {
    "/api/v1/orders": "unknown SKU/customer/channel, reversed date range",
    "/api/v1/leads": "neither e-mail nor phone (a cross-field rule), a blank name, an unknown currency",
    "/api/v1/quotes": "unknown SKU/customer",
    "/api/v1/prices": "unknown SKU/customer/currency",
    "/api/v1/availability": "unknown SKU or warehouse",
    "/api/v1/availability/batch": "unknown SKU or warehouse",
    "/api/v1/orders/{number}/holds": "unknown hold code",
    "/api/v1/orders/{number}/holds/{hold_id}/release": "a hold code that needs another role's release",
    "/api/v1/stock-adjustments/": "unknown SKU or warehouse",
    "/api/v1/transfers/": "unknown SKU or warehouse",
    "/api/v1/reorder-rules/": "unknown SKU, warehouse or supplier",
    "/api/v1/purchase-orders/": "unknown SKU, warehouse or supplier",
    "/api/v1/purchase-orders/{id}/receive/": "a line id of another purchase order",
    "/api/v1/stock-positions/": "unknown warehouse",
    "/api/v1/fulfillment/shipment-advice": "unknown shipment or fulfillment line",
    "/api/v1/fulfillment/shipment-status": "unknown shipment",
    "/api/v1/jeopardy/alerts": "unknown channel, customer, order or assignee in a filter",
    "/api/v1/rebates/programs/": "unknown customer in a filter",
    "/api/v1/rebates/accruals/": "unknown customer or program in a filter",
    "/api/v1/rebates/claims/": "unknown customer or program in a filter; a claim on unknown accruals",
    "/api/v1/rebates/settlements/": "unknown claim or program in a filter",
    "/api/v1/reports/rankings": "unknown channel, warehouse or currency (or one without a rate)",
    "/api/v1/reports/operational/{report}": "unknown channel or warehouse",
    "/api/v1/promise": "unknown SKU or channel",
    "/api/v1/promise/choose": "unknown SKU or channel",
    "/api/v1/orders/{number}/fulfillment/lines/{line_id}/promise": "unknown warehouse",
    "/api/v1/orders/{number}/payments": "a method without provider keys for the channel",
    "/api/v1/payments/offline": "unknown customer, invoice or currency; more decimals than the currency has",
    "/api/v1/payments/{number}/refund": "more than was captured, money that pays an invoice",
    "/api/v1/invoices/{number}/credit-memos": "a line of another invoice, more than was invoiced",
    "/api/v1/statements": "a file that is not a CSV or CAMT.053 statement; a line in another currency",
}
ALL_PHASES = "examples,coverage,fuzzing,stateful"
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "429"]
# schemathesis's own default for negative data rejection.
NEGATIVE_STATUSES = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"]


STATEFUL_SCENARIOS = os.environ.get("OMS_FUZZ_STATEFUL_SCENARIOS", "20")


def _config(tmp_path) -> str:
    # The stateful phase walks more scenarios than the per-operation examples, so that captures
    # succeed often enough to follow the links (hold, release, cancel, fulfillment) from them.
    lines = ["[phases.stateful.generation]", f"max-examples = {int(STATEFUL_SCENARIOS)}", ""]
    # Negative data rejection also takes the web server's own refusals: a request line over
    # gunicorn's 4094 bytes is a 414 (documented on every operation) and a body over the upload
    # limit a 413, both before the application sees the request.
    lines += [
        "[checks.negative_data_rejection]",
        f"expected-statuses = {json.dumps([*NEGATIVE_STATUSES, '413', '414'])}",
        "",
    ]
    for path in POSITIVE_MAY_REFUSE:
        statuses = [*POSITIVE_STATUSES, "400"]
        lines += [
            "[[operations]]",
            f"include-path = {json.dumps(path)}",
            "[operations.checks.positive_data_acceptance]",
            f"expected-statuses = {json.dumps(statuses)}",
            "",
        ]
    path = tmp_path / "schemathesis.toml"
    path.write_text("\n".join(lines))
    return str(path)


def _command(web, tmp_path, name: str, role: dict) -> list[str]:
    cmd = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", _config(tmp_path), "run",
        f"{web.url}/api/schema/?format=json", "--url", web.url, "--checks", "all",
        # One worker per run (the three runs go at once): schemathesis's coverage phase builds
        # Hypothesis strategies whose descriptions parse source with `ast`, which is not safe
        # across threads on Python 3.11 ("AST constructor recursion depth mismatch").
        "--workers", "1", "--max-examples", MAX_EXAMPLES, "--seed", str(SEED),
        "--phases", role.get("phases", ALL_PHASES), "--suppress-health-check", "all",
        "--request-timeout", "30", "--no-color", "--generation-database", "none",
    ]  # fmt: skip
    if role.get("exclude"):
        cmd += ["--exclude-checks", ",".join(role["exclude"])]
    if role.get("paths"):
        cmd += ["--include-path-regex", role["paths"]]
    for header in role["headers"]:
        cmd += ["-H", header]
    return cmd


def _run_all(web, tmp_path, roles: dict[str, dict], world: dict) -> list[str]:
    """The three runs at once (each its own process); the failures of each, with its report."""
    env = {
        **os.environ,
        # Positive order captures name the world's catalogue (tests/fuzz/schemathesis_hooks.py).
        "SCHEMATHESIS_HOOKS": "tests.fuzz.schemathesis_hooks",
        "OMS_FUZZ_WORLD": json.dumps(world),
    }
    started = {}
    for name, role in roles.items():
        print(f"schemathesis as {name}: seed {SEED} (replay with OMS_FUZZ_SEED={SEED})")
        out = (tmp_path / f"schemathesis-{name}.txt").open("w")
        cmd = _command(web, tmp_path, name, role)
        started[name] = (subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT), out)
    failures = []
    for name, (process, out) in started.items():
        code = process.wait(timeout=900)
        out.close()
        text = (tmp_path / f"schemathesis-{name}.txt").read_text()
        if code != 0:
            start = text.find("FAILURES")
            detail = (text[start:] if start >= 0 else text)[-15000:]
            failures.append(
                f"--- as {name}: seed {SEED}, report {tmp_path}/schemathesis-{name}.txt\n{detail}"
            )
    return failures


@pytest.fixture
def fuzz_world(transactional_db, client):
    """Orders open, on hold, canceled and shipped-and-invoiced, with their processes, shipments
    and invoices, plus every SKU the schema's examples name (they exist in the demo data too)."""
    from billing.models import Invoice
    from fulfillment.models import Shipment
    from inventory.services import stock_receive
    from tests.factories.catalog import ProductFactory
    from tests.factories.orders import HoldCodeFactory
    from tests.factories.pricing import PriceListItemFactory
    from tests.fulfillment.conftest import (
        advise,
        build_fulfillment_world,
        order_body,
        post,
        settle,
        wake_pauses,
    )

    world = build_fulfillment_world()
    schema = json.loads(client.get("/api/schema/?format=json").content)
    for sku in sorted(_example_skus(schema)):
        product = ProductFactory(sku=sku, tax_class=world.tax, primary_supplier=world.supplier)
        PriceListItemFactory(
            price_list=_price_list(),
            product=product,
            uom=product.uom,
            unit_price=Decimal("129.00"),
        )
        stock_receive(product_id=product.pk, warehouse_id=world.east.pk, quantity=500, reference="fuzz seed")
    HoldCodeFactory(code="manual")
    numbers = []
    for i in range(4):
        response = post(client, "/api/v1/orders", order_body(f"FZ-{i}"), world.web.key)
        assert response.status_code == 201, response.content
        numbers.append(response.json()["number"])
    settle()
    wake_pauses()
    settle()
    shipment = Shipment.objects.filter(lines__fulfillment_line__order_line__order__number=numbers[0]).first()
    if shipment is not None:
        advise(client, world, shipment=shipment.number, advice_id="fz-advice-1")
        settle()
    post(client, f"/api/v1/orders/{numbers[1]}/cancel", {"reason": "fuzz world"}, world.web.key)
    post(client, f"/api/v1/orders/{numbers[2]}/holds", {"code": "manual", "reason": "fuzz"}, world.web.key)
    world.skus = ["DRILL-1", "SAW-1", *sorted(_example_skus(schema))]
    world.summary = {
        "orders": numbers,
        "shipments": Shipment.objects.count(),
        "invoices": Invoice.objects.count(),
    }
    print(f"fuzz world: {world.summary}")
    return world


def _price_list():
    from pricing.models import PriceList

    return PriceList.objects.get(code="usd-default")


def _example_skus(schema: dict) -> set[str]:
    found: set[str] = set()

    def walk(value):
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "sku" and isinstance(inner, str):
                    found.add(inner)
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    for item in schema["paths"].values():
        for operation in item.values():
            for content in operation.get("requestBody", {}).get("content", {}).values():
                walk([e.get("value") for e in content.get("examples", {}).values()])
    return found


@pytest.fixture
def staff_cookie(transactional_db) -> tuple[str, str]:
    user = get_user_model().objects.create_superuser("fuzz-admin", "fuzz@oms.example", secrets.token_hex(8))
    client = login_verified(Client(), user)  # a superuser holds the admin role: second factor too
    csrf = secrets.token_hex(16)  # a 32-character secret: the header and the cookie must match
    return f"sessionid={client.cookies['sessionid'].value}; csrftoken={csrf}", csrf


def test_every_check_as_a_channel_as_staff_and_as_a_warehouse_partner(
    fuzz_world, staff_cookie, web_factory, tmp_path
):
    web = web_factory(workers=2)
    cookie, csrf = staff_cookie
    roles = {
        "channel": {"headers": [f"Authorization: Api-Key {fuzz_world.web.key}"]},
        "staff": {
            "headers": [f"Cookie: {cookie}", f"X-CSRFToken: {csrf}"],
            # The session travels in a Cookie header that schemathesis does not manage, so its
            # "without credentials" probe still carries it; the channel and partner runs check
            # ignored authentication for every operation.
            "exclude": ["ignored_auth"],
        },
        "partner": {
            "headers": [f"Authorization: Api-Key {fuzz_world.partners['wh-east'].key}"],
            # What a partner may call; every other operation refuses partners (the channel and
            # staff runs cover those operations, and keep the run near three minutes).
            "paths": "fulfillment",
            "phases": "examples,coverage,fuzzing",  # no link starts among them: nothing stateful
        },
    }
    world = {"skus": fuzz_world.skus, "account": "C-1", "channel": "web"}
    failures = _run_all(web, tmp_path, roles, world)
    assert not failures, "\n".join(failures)
