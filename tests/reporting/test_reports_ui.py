"""The staff reports section: a ranking with its chart and table, filters in the URL, the
drill-down to the orders behind a row, and the CSV / XLSX exports (streamed)."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.contrib.auth.models import Group

from oms.kernel.roles import Role, role_sync
from tests.support.otp import login_verified

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.django_db]

WEEK = "date_from=2026-11-08&date_to=2026-11-14"


@pytest.fixture
def manager(client, django_user_model):
    role_sync()
    user = django_user_model.objects.create_user(username="manager", is_staff=True)
    user.groups.add(Group.objects.get(name=Role.ORDER_DESK.label))
    return login_verified(client, user)


def _body(response) -> str:
    return b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()


def test_the_reports_section_is_in_the_menu_and_lists_every_report(manager):
    page = manager.get("/reports/").content.decode()
    assert 'href="/reports/"' in manager.get("/").content.decode()
    for report in ("dimension=product", "dimension=campaign", "dimension=quarter", "on_time", "po_lead_time"):
        assert report in page


def test_a_ranking_shows_chart_table_comparison_and_the_exclusion(manager, sales):
    r = manager.get(f"/reports/rankings/?dimension=channel&metric=revenue&{WEEK}")
    assert r.status_code == 200
    page = r.content.decode()
    assert "data-chart=" in page and 'id="ranking-table"' in page
    assert ">web</a>" in page and "850.00" in page and "328.00" in page
    assert "Excluded: 2 canceled lines" in page and "previous period" in page
    assert "/reports/rankings/orders/?" in page and "/reports/rankings/export.csv?" in page
    assert "<script>" not in page and "style=" not in page


def test_bad_input_on_the_screen_is_a_400_naming_the_field(manager, sales):
    r = manager.get("/reports/rankings/?date_from=2026-11-14&date_to=2026-11-08")
    assert r.status_code == 400 and "date_to" in r.content.decode()


def test_drill_down_lists_the_orders_behind_a_row(manager, sales):
    o = sales.orders
    r = manager.get(f"/reports/rankings/orders/?dimension=product&key={sales.drill.pk}&{WEEK}")
    assert r.status_code == 200
    page = r.content.decode()
    for i in (1, 2, 3, 4, 5):
        assert f"/orders/{o[i].number}/" in page
    assert o[6].number not in page  # canceled
    week = manager.get(f"/reports/rankings/orders/?dimension=week&key=2026-11-09&{WEEK}").content.decode()
    assert o[1].number not in week and o[2].number in week
    assert manager.get(f"/reports/rankings/orders/?dimension=product&key=abc&{WEEK}").status_code == 400


def test_csv_export_streams_every_row_with_the_exclusion_note(manager, sales):
    r = manager.get(f"/reports/rankings/export.csv?dimension=order&metric=revenue&{WEEK}")
    assert r.status_code == 200 and r.streaming
    rows = list(csv.reader(io.StringIO(_body(r))))
    assert rows[0][:4] == ["rank", "key", "label", "value"]
    assert [(x[0], x[1], x[3]) for x in rows[1:6]] == [
        ("1", sales.orders[2].number, "500.00"),
        ("2", sales.orders[1].number, "250.00"),
        ("3", sales.orders[3].number, "220.00"),
        ("4", sales.orders[4].number, "108.00"),
        ("5", sales.orders[5].number, "100.00"),
    ]
    assert rows[-1][0] == "#" and "Canceled lines" in rows[-1][1]


def test_xlsx_export_is_a_workbook_with_the_rows(manager, sales):
    r = manager.get(f"/reports/rankings/export.xlsx?dimension=channel&metric=revenue&{WEEK}")
    assert r.status_code == 200
    book = zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content)))
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    strings = book.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in book.namelist() else ""
    assert "<v>850</v>" in sheet and "<v>328</v>" in sheet
    assert "web" in sheet + strings and "market" in sheet + strings


def test_every_operational_report_screen_opens(manager, sales):
    for report in (
        "on_time",
        "fill_rate",
        "backorder_aging",
        "cycle_times",
        "hold_durations",
        "po_lead_time",
    ):
        assert manager.get(f"/reports/operational/{report}/?{WEEK}").status_code == 200, report
    assert manager.get("/reports/operational/nothing/").status_code == 404
