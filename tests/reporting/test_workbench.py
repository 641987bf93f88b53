"""The exception workbench (issue 17 item 6): queues for jeopardy by priority, holds by code, failed
steps, back-ordered and unscheduled lines; filters and grouping by customer, product, supplier,
warehouse, channel and process (errors on the fields); counts that refresh in place; the drill-down
timeline (planned vs actual vs required); bulk actions with a confirmation and a per-row result;
the exception summary API; every panel in a constant number of queries."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fulfillment.models import FulfillmentEvent, JeopardyAlert, StepInstance
from fulfillment.services.jeopardy import alert_resolve
from fulfillment.states import JeopardyAlertStatus, ProcessStatus, StepStatus
from orders.actors import Actor
from orders.models import OrderHold
from orders.services import hold_release
from reporting.timeline import MIN_BAR, WIDTH
from reporting.workbench import PANELS

from .workbench_world import add_exceptions

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _numbers_in(page: str) -> set[str]:
    return set(re.findall(r"SO-\d+", page))


# --- the summary API ----------------------------------------------------------------------------------


def test_the_summary_api_counts_every_queue(wb, login):
    client = login(wb.users.picker)
    body = client.get("/api/v1/exceptions/summary").json()
    assert body["jeopardy"] == {"total": 2, "by_priority": {"high": 1, "medium": 1, "low": 0}}
    assert body["holds"] == {"total": 1, "by_code": {"manual": 1}}
    assert body["failed_steps"] == 1
    assert body["unscheduled"] == 1  # the held order's line: its schedule step is held
    assert body["backorders"] == 1  # the piano bought back-to-back, waiting for its receipt
    assert "generated_at" in body

    # A resolved alert and a released hold leave their queues, and the counts follow.
    alert_resolve(alert_id=wb.wb.medium.pk, actor=Actor.for_user(wb.users.picker), note="Expedited")
    hold_release(hold_id=wb.wb.hold.pk, actor=Actor.for_user(wb.users.desk), reason="Address confirmed")
    body = client.get("/api/v1/exceptions/summary").json()
    assert body["jeopardy"] == {"total": 1, "by_priority": {"high": 1, "medium": 0, "low": 0}}
    assert body["holds"] == {"total": 0, "by_code": {}}


def test_the_summary_api_is_for_staff_only(wb, client):
    assert client.get("/api/v1/exceptions/summary").status_code in (401, 403)
    key = wb.web.key  # a channel's API key is not staff
    response = client.get("/api/v1/exceptions/summary", HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert response.status_code == 403 and response.json()["code"]


def test_the_summary_api_is_documented_in_the_schema(client):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/exceptions/summary"]["get"]
    assert operation["operationId"] == "exceptions_summary"
    assert "200" in operation["responses"]


def test_the_tabs_show_the_same_counts_and_refresh_in_place(wb, login):
    client = login(wb.users.admin)
    page = client.get("/workbench/jeopardy/").content.decode()
    # The tab strip polls its own URL and swaps itself: counts change without a reload.
    assert 'hx-get="/workbench/counts?panel=jeopardy" hx-trigger="every 20s" hx-swap="outerHTML"' in page
    tabs = client.get("/workbench/counts?panel=jeopardy").content.decode()
    assert "<html" not in tabs  # a fragment
    assert 'data-count="jeopardy">2</span>' in tabs and "H 1 · M 1 · L 0" in tabs
    assert 'data-count="steps">1</span>' in tabs and 'data-count="unscheduled">1</span>' in tabs
    alert_resolve(alert_id=wb.wb.high.pk, actor=Actor.for_user(wb.users.picker), note="Shipped by air")
    tabs = client.get("/workbench/counts?panel=jeopardy").content.decode()
    assert 'data-count="jeopardy">1</span>' in tabs and "H 0 · M 1 · L 0" in tabs


# --- queues, filters and grouping -------------------------------------------------------------------


def test_the_jeopardy_queue_lists_worst_first_and_filters_by_warehouse(wb, login):
    client = login(wb.users.picker)
    page = client.get("/workbench/jeopardy/").content.decode()
    east, west = wb.wb.east.order_number, wb.wb.west.order_number
    assert page.index(east) < page.index(west)  # high before medium
    west_only = client.get("/workbench/jeopardy/?warehouse=wh-west").content.decode()
    assert west in west_only and east not in west_only
    high_only = client.get("/workbench/jeopardy/?priority=high").content.decode()
    assert east in high_only and west not in high_only


@pytest.mark.parametrize(
    "panel, query, line",
    [
        ("jeopardy", "customer=C-1", "east"),
        ("jeopardy", "product=saw", "west"),
        ("jeopardy", "supplier=acme", "east"),
        ("jeopardy", "channel=web", "east"),
        ("jeopardy", "process=ship-from-warehouse", "east"),
        ("steps", "warehouse=wh-east", "failing"),
        ("steps", "product=DRILL", "failing"),
        ("steps", "customer=C-1", "failing"),
        ("steps", "channel=web", "failing"),
        ("holds", "product=SAW", "held"),
        ("holds", "supplier=acme", "held"),
        ("holds", "channel=web", "held"),
        ("holds", "code=manual", "held"),
        ("unscheduled", "customer=C-1", "held"),
        ("unscheduled", "product=saw", "held"),
        ("backorders", "warehouse=wh-east", "piano"),
        ("backorders", "product=PIANO", "piano"),
        ("backorders", "customer=C-1", "piano"),
        ("backorders", "channel=web", "piano"),
    ],
)
def test_each_queue_filters_by_the_six_dimensions(wb, login, panel, query, line):
    client = login(wb.users.admin)
    number = getattr(wb.wb, line).order_number
    response = client.get(f"/workbench/{panel}/?{query}")
    assert response.status_code == 200
    assert number in response.content.decode(), (panel, query)


@pytest.mark.parametrize(
    "panel, query",
    [
        ("jeopardy", "customer=nobody-like-this"),
        ("jeopardy", "warehouse=acme-supply"),
        ("steps", "warehouse=wh-west"),
        ("holds", "product=PIANO"),
        ("unscheduled", "channel=market"),
        ("backorders", "warehouse=wh-west"),
    ],
)
def test_a_filter_that_matches_nothing_lists_nothing(wb, login, panel, query):
    from tests.orders.conftest import make_channel

    make_channel("market", warehouses=[wb.east])
    page = login(wb.users.admin).get(f"/workbench/{panel}/?{query}").content.decode()
    assert not _numbers_in(page.split('id="panel-title"')[1].split("</section>")[0]), (panel, query)


@pytest.mark.parametrize(
    "query, field, message",
    [
        ("warehouse=nowhere", "warehouse", "No warehouse has the code “nowhere”."),
        ("supplier=nobody", "supplier", "No supplier has the code “nobody”."),
        ("channel=nochannel", "channel", "No channel has the code “nochannel”."),
        ("process=no-such-process", "process", "No process has the code “no-such-process”."),
        ("priority=urgent", "priority", "Select a valid choice."),
        ("group=colour", "group", "Select a valid choice."),
    ],
)
def test_an_invalid_filter_is_an_error_on_its_field_and_lists_nothing(wb, login, query, field, message):
    response = login(wb.users.picker).get(f"/workbench/jeopardy/?{query}")
    page = response.content.decode()
    assert response.status_code == 400
    assert f'<p class="field-error" id="id_{field}-err" role="alert">{message}' in page
    assert response.context["rows"].paginator.count == 0
    assert 'class="messages' not in page  # not a flash message


def test_grouping_counts_the_filtered_rows_by_the_chosen_thing(wb, login):
    client = login(wb.users.picker)
    group = client.get("/workbench/jeopardy/?group=warehouse").context["group"]
    assert group.rows == [("wh-east", wb.east.name, 1), ("wh-west", wb.west.name, 1)]
    group = client.get("/workbench/jeopardy/?group=priority&warehouse=wh-west").context["group"]
    assert group.rows == [("medium", "medium", 1)]
    group = client.get("/workbench/steps/?group=process").context["group"]
    assert [r[0] for r in group.rows] == [wb.wb.failing.process.definition.code]
    group = client.get("/workbench/unscheduled/?group=customer").context["group"]
    assert group.rows == [("C-1", wb.customer.name, 1)]


# --- drill-down timeline -----------------------------------------------------------------------------


def test_the_timeline_draws_planned_actual_and_required_per_step(wb, login):
    client = login(wb.users.picker)
    number = wb.wb.east.order_number
    response = client.get(f"/workbench/orders/{number}/timeline?back=/workbench/jeopardy/")
    page = response.content.decode()
    assert response.status_code == 200
    steps = list(wb.wb.east.process.steps.order_by("sequence"))
    timeline = response.context["timeline"]
    rows = timeline.lines[0].rows
    assert [r.step.pk for r in rows] == [s.pk for s in steps]
    # Every step has a planned bar; the completed ones an actual bar; required dates are marked.
    assert all(r.planned is not None for r in rows)
    assert all(r.actual is not None for r in rows if r.step.status == StepStatus.COMPLETED)
    assert all(r.actual is None for r in rows if r.step.status == StepStatus.PENDING)
    required = [r for r in rows if r.required_end]
    assert required and all(r.required_end == r.step.required_end for r in required)
    # One axis for the order: the earliest moment at 0, the latest at 1000.
    xs = [b.x for r in rows for b in (r.planned, r.actual) if b] + [r.required_x for r in required]
    assert min(xs) == 0 and max(b.x + b.width for r in rows for b in (r.planned, r.actual) if b) <= 1000
    span = (timeline.end - timeline.start).total_seconds()
    for r in rows:  # each bar starts where its moment falls on the axis (an instant at the end stays visible)
        expected = round((r.step.planned_start - timeline.start).total_seconds() / span * 1000, 1)
        assert r.planned.x == min(expected, WIDTH - MIN_BAR), r.step
    late = [r for r in rows if r.late]
    assert all((r.step.actual_end or r.step.planned_end) > r.required_end for r in late)
    assert page.count('class="g-planned"') == len(steps)
    assert page.count('class="g-required"') == len(required)
    assert ' style="' not in page.split("<main")[1] and "<style" not in page  # CSP: no inline styles
    assert 'href="/workbench/jeopardy/">Back to the queue' in page


def test_the_timeline_of_an_unknown_order_is_a_404(wb, login):
    assert login(wb.users.picker).get("/workbench/orders/SO-999999/timeline").status_code == 404


def test_the_timeline_offers_no_foreign_back_link(wb, login):
    number = wb.wb.east.order_number
    page = (
        login(wb.users.picker).get(f"/workbench/orders/{number}/timeline?back=https://evil.example/").content
    )
    assert b"evil.example" not in page


# --- bulk actions: confirmation, then a result per row -------------------------------------------------


def test_bulk_assign_asks_first_then_reports_each_row(wb, login):
    client = login(wb.users.picker)
    ids = [wb.wb.high.pk, wb.wb.medium.pk]
    data = {"action": "assign", "ids": ids, "assignee": str(wb.users.lead.pk)}
    confirm = client.post("/workbench/jeopardy/action", data)
    page = confirm.content.decode()
    assert confirm.status_code == 200 and "Assign 2 rows of jeopardy?" in page
    assert "Assign to: <strong>lead</strong>" in page
    assert not JeopardyAlert.objects.filter(assigned_to__isnull=False).exists()  # nothing yet

    # Meanwhile someone resolves one of them: it is still listed, with why it was not assigned.
    alert_resolve(alert_id=wb.wb.medium.pk, actor=Actor.for_user(wb.users.desk), note="Customer will wait")
    result = client.post("/workbench/jeopardy/action", {**data, "confirm": "yes"})
    rows = result.context["results"]
    assert [(r.pk, r.ok) for r in rows] == [(wb.wb.high.pk, True), (wb.wb.medium.pk, False)]
    assert rows[0].message == "Assigned to lead."
    assert "Not in this queue any more" in rows[1].message
    assert "1 row assigned. 1 not assigned." in result.content.decode()
    high = JeopardyAlert.objects.get(pk=wb.wb.high.pk)
    assert high.assigned_to == wb.users.lead
    assert JeopardyAlert.objects.get(pk=wb.wb.medium.pk).assigned_to is None
    assert FulfillmentEvent.objects.filter(kind="alert_assigned", process=high.process).count() == 1


def test_bulk_assign_needs_an_assignee_on_its_field(wb, login):
    client = login(wb.users.picker)
    response = client.post("/workbench/jeopardy/action", {"action": "assign", "ids": [wb.wb.high.pk]})
    page = response.content.decode()
    assert response.status_code == 400
    assert '<p class="field-error" id="mass-assignee-err">Choose who takes these alerts' in page
    assert f'value="{wb.wb.high.pk}" id="alert-{wb.wb.high.pk}" checked' in page
    response = client.post(
        "/workbench/jeopardy/action", {"action": "assign", "ids": [wb.wb.high.pk], "assignee": "99999"}
    )
    assert response.status_code == 400 and "Choose an active staff member." in response.content.decode()


def test_bulk_unassign_takes_alerts_back(wb, login):
    JeopardyAlert.objects.filter(pk=wb.wb.high.pk).update(assigned_to=wb.users.lead)
    client = login(wb.users.picker)
    result = client.post(
        "/workbench/jeopardy/action",
        {"action": "assign", "ids": [wb.wb.high.pk], "assignee": "nobody", "confirm": "yes"},
    )
    assert [r.ok for r in result.context["results"]] == [True]
    assert JeopardyAlert.objects.get(pk=wb.wb.high.pk).assigned_to is None


def test_bulk_retry_reports_each_step(wb, login):
    client = login(wb.users.picker)
    # A second parked step, which someone else retries before the confirmation is posted.
    other = add_exceptions(wb, "WB2").step
    ids = [wb.wb.step.pk, other.pk]
    confirm = client.post("/workbench/steps/action", {"action": "retry", "ids": ids})
    assert "Retry 2 rows of failed steps?" in confirm.content.decode()
    client.post("/workbench/steps/action", {"action": "retry", "ids": [other.pk], "confirm": "yes"})
    result = client.post("/workbench/steps/action", {"action": "retry", "ids": ids, "confirm": "yes"})
    assert [(r.pk, r.ok) for r in result.context["results"]] == [(wb.wb.step.pk, True), (other.pk, False)]
    step = StepInstance.objects.select_related("process").get(pk=wb.wb.step.pk)
    assert step.status != StepStatus.FAILED and step.process.status == ProcessStatus.RUNNING


def test_bulk_release_reports_a_refusal_on_its_row(wb, login):
    from orders.services import hold_apply
    from tests.factories.orders import HoldCodeFactory

    HoldCodeFactory(
        code="finance-only", name="Finance review", apply_roles=["order_desk"], release_roles=["finance"]
    )
    second = hold_apply(
        order_id=wb.wb.east.order.pk, actor=Actor.for_user(wb.users.desk), code="finance-only", reason="Check"
    )
    client = login(wb.users.desk)
    ids = [wb.wb.hold.pk, second.pk]
    result = client.post(
        "/workbench/holds/action", {"action": "release", "ids": ids, "reason": "Checked", "confirm": "yes"}
    )
    rows = {r.pk: r for r in result.context["results"]}
    assert rows[wb.wb.hold.pk].ok and not rows[second.pk].ok
    assert rows[second.pk].label == f"{wb.wb.east.order_number} · hold finance-only"
    assert OrderHold.objects.get(pk=wb.wb.hold.pk).released_at is not None
    assert OrderHold.objects.get(pk=second.pk).released_at is None


def test_a_confirmation_changes_nothing(wb, login):
    client = login(wb.users.desk)
    client.post("/workbench/holds/action", {"action": "release", "ids": [wb.wb.hold.pk], "reason": "ok"})
    assert OrderHold.objects.get(pk=wb.wb.hold.pk).released_at is None


# --- every panel in a constant number of queries ---------------------------------------------------------

PANEL_BUDGETS = {
    "/workbench/jeopardy/": 17,
    "/workbench/jeopardy/?warehouse=wh-east&group=warehouse": 19,
    "/workbench/holds/?group=customer": 18,
    "/workbench/approvals/": 16,
    "/workbench/credit/": 16,
    "/workbench/compliance/": 16,
    "/workbench/backorders/?customer=C-1&group=product": 18,
    "/workbench/unscheduled/?group=warehouse": 18,
    "/workbench/steps/?process=ship-from-warehouse&group=process": 19,
    "/workbench/webhooks/": 16,
    "/workbench/counts?panel=jeopardy": 11,
}


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.content[:500])
    return len(ctx.captured_queries)


def test_every_panel_reads_a_fixed_number_of_queries_whatever_the_rows(
    wb, login, django_assert_max_num_queries
):
    assert set(PANELS) <= {u.split("/")[2].split("?")[0] for u in PANEL_BUDGETS}
    client = login(wb.users.admin)
    few = {url: _queries(client, url) for url in PANEL_BUDGETS}
    for n in range(3):  # three times the rows in every queue
        add_exceptions(wb, f"G{n}")
    many = {url: _queries(client, url) for url in PANEL_BUDGETS}
    assert many == few
    for url, budget in PANEL_BUDGETS.items():
        with django_assert_max_num_queries(budget):
            client.get(url)


def test_the_timeline_reads_a_fixed_number_of_queries(wb, login, django_assert_max_num_queries):
    client = login(wb.users.picker)
    number = wb.wb.east.order_number
    with django_assert_max_num_queries(12):
        client.get(f"/workbench/orders/{number}/timeline")


def test_the_summary_api_reads_a_fixed_number_of_queries(wb, login, django_assert_max_num_queries):
    client = login(wb.users.picker)
    add_exceptions(wb, "G9")
    with django_assert_max_num_queries(10):
        assert client.get("/api/v1/exceptions/summary").status_code == 200


def test_an_alert_resolved_is_no_longer_offered(wb, login):
    JeopardyAlert.objects.filter(pk=wb.wb.medium.pk).update(status=JeopardyAlertStatus.RESOLVED)
    page = login(wb.users.picker).get("/workbench/jeopardy/").content.decode()
    assert wb.wb.west.order_number not in page
