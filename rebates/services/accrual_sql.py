"""The accrual engine on PostgreSQL: the same calculation as `accruals._accrue`, done in the database.

A run is a fixed sequence of statements whatever the number of lines, inside the caller's
transaction (temporary tables dropped at commit):

1. the source lines (shipment lines, invoice lines or a receipt) into `rebate_src`, read straight
   from their tables (INSERT ... SELECT);
2. every qualifying (program, line[, authorization]) pair into `rebate_pair`: supplier rebates by
   the product's supplier (receipts: the PO's), customer volume rebates by the customer or the
   group's members, ship-and-debit by the first authorization (lowest id) whose dates, products
   and customers (or customer groups) take the line; all of them inside the program's dates and
   its eligible products / brands / categories;
3. the programs (and authorizations) the pairs name are locked in primary-key order, then the
   pairs that have their accrual already are deleted (a redelivery: counted, nothing written);
4. the exchange rates the run needs (source -> program currency, program -> functional currency,
   per date: the latest rate on or before it, else the reciprocal of the reverse pair) into
   `rebate_fx`; a missing rate is refused like `exchange_rate_on` refuses it;
5. the amounts into `rebate_new` with window functions, in the order the in-memory engine uses
   (date, then source line, per program):
   - tiered programs: the period's running measure = the committed period volume + the running
     sum of the lines before this one; stepped bands (each band's overlap at its rate) and the
     retrospective tier reached, from one join with the tiers;
   - ship-and-debit: the authorization's running shipped quantity against what is left under its
     maximum (`greatest(0, least(running, left)) - greatest(0, least(running before, left))`:
     the line that crosses it gets the remainder, lines after it nothing, and are not written);
   - the budget cap clips the same way on the program's running amount;
   - amounts rounded once to the currency's minor unit (half up, as `round_money`);
6. one journal entry per program (`post_entries_bulk`), then one INSERT ... SELECT of the
   accruals pointing at their entry, one UPDATE of the programs' accrued totals, one of the
   authorizations' consumed quantities, and the audit rows.

SQLite keeps the in-memory engine (no decimal arithmetic in SQLite).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from oms.kernel.exceptions import NotFound
from oms.kernel.money import MINOR_UNITS
from pricing.models import ExchangeRate, SegmentMembership

from ..models import (
    SUPPLIER_SIDE,
    Accrual,
    AccrualKind,
    DebitMethod,
    EntryKind,
    ProgramTier,
    ProgramType,
    RebateEvent,
    RebateProgram,
    ShipDebitAuthorization,
    SourceType,
)
from ..states import ProgramStatus
from .journal import EntrySpec, functional_currency, post_entries_bulk

ZERO = Decimal("0")
CHUNK = 2000
WORK_MEM = "128MB"


class CreatedAccruals(Sequence):
    """The accruals a run wrote, read from the database only when looked at (a 100,000-line
    run does not build 100,000 objects nobody reads). Compares equal to a list of the same."""

    def __init__(self, ids: Sequence[int] = ()) -> None:
        self._ids = list(ids)
        self._rows: list[Accrual] | None = None

    def _load(self) -> list[Accrual]:
        if self._rows is None:
            rows: list[Accrual] = []
            for i in range(0, len(self._ids), CHUNK):
                rows += Accrual.objects.filter(pk__in=self._ids[i : i + CHUNK]).order_by("pk")
            self._rows = rows
        return self._rows

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, index):
        return self._load()[index]

    def __iter__(self) -> Iterator[Accrual]:
        return iter(self._load())

    def __eq__(self, other) -> bool:
        if isinstance(other, CreatedAccruals):
            return self._ids == other._ids
        if isinstance(other, list):
            return len(other) == len(self) and (not other or list(self) == other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"<CreatedAccruals {len(self)}>"


@dataclass
class SqlRun:
    created: CreatedAccruals = field(default_factory=CreatedAccruals)
    already: int = 0
    total_amount: Decimal = ZERO


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _minor(column: str) -> str:
    """The currency's minor unit (decimal places) as SQL, from the one table in oms.kernel.money."""
    whens = " ".join(f"WHEN '{code}' THEN {units}" for code, units in sorted(MINOR_UNITS.items()))
    return f"(CASE {column} {whens} ELSE 2 END)"


# --- sources ------------------------------------------------------------------------------------------

_SRC_COLUMNS = (
    "sid, source_id, on_date, product_id, brand_id, category_id, psup_id, supplier_id, customer_id, "
    "warehouse_id, qty, val, currency, document"
)


def shipment_lines_source(ids: Sequence[int]) -> tuple[str, list]:
    from catalog.models import Product
    from fulfillment.models import FulfillmentLine, Shipment, ShipmentLine
    from orders.models import OrderLine, SalesOrder

    tz = timezone.get_current_timezone_name()
    sql = f"""
        SELECT sl.id, sl.id::text, COALESCE((sh.shipped_at AT TIME ZONE %s)::date, %s::date),
               fl.product_id, pr.brand_id, pr.category_id, pr.primary_supplier_id, NULL::bigint,
               so.customer_id, sh.warehouse_id, sl.quantity_shipped,
               sl.quantity_shipped * ol.unit_net_price, so.currency, sh.number
        FROM {_t(ShipmentLine)} sl
        JOIN {_t(Shipment)} sh ON sh.id = sl.shipment_id
        JOIN {_t(FulfillmentLine)} fl ON fl.id = sl.fulfillment_line_id
        JOIN {_t(OrderLine)} ol ON ol.id = fl.order_line_id
        JOIN {_t(SalesOrder)} so ON so.id = fl.order_id
        LEFT JOIN {_t(Product)} pr ON pr.id = fl.product_id
        WHERE sl.id = ANY(%s::bigint[]) AND sl.quantity_shipped > 0
    """  # noqa: S608
    return sql, [tz, timezone.localdate(), list(ids)]


def invoice_lines_source(invoice_number: str) -> tuple[str, list]:
    from billing.models import Invoice, InvoiceLine
    from catalog.models import Product
    from orders.models import OrderLine

    tz = timezone.get_current_timezone_name()
    sql = f"""
        SELECT il.id, il.id::text, (COALESCE(inv.issued_at, now()) AT TIME ZONE %s)::date,
               ol.product_id, pr.brand_id, pr.category_id, pr.primary_supplier_id, NULL::bigint,
               inv.customer_id, NULL::bigint, il.quantity, il.net, inv.currency, inv.number
        FROM {_t(InvoiceLine)} il
        JOIN {_t(Invoice)} inv ON inv.id = il.invoice_id
        LEFT JOIN {_t(OrderLine)} ol ON ol.id = il.order_line_id
        LEFT JOIN {_t(Product)} pr ON pr.id = ol.product_id
        WHERE inv.number = %s
    """  # noqa: S608
    return sql, [tz, invoice_number]


# --- the run --------------------------------------------------------------------------------------------


def accrue_sql(
    source: tuple[str, list], *, source_type: str, program_types: Sequence[str], basis: str
) -> SqlRun:
    """Accrue the lines `source` selects (columns as `_SRC_COLUMNS`) under every active program of
    `program_types` with this `basis` (ship-and-debit: shipment lines, whatever its basis)."""
    src_sql, src_params = source
    run = SqlRun()
    supplier_col = "s.supplier_id" if source_type == SourceType.RECEIPT else "s.psup_id"
    prog = _t(RebateProgram)
    pprod, pbrand, pcat = (
        _t(RebateProgram.products.through),
        _t(RebateProgram.brands.through),
        _t(RebateProgram.categories.through),
    )
    auth = _t(ShipDebitAuthorization)
    acust, aseg, aprod = (
        _t(ShipDebitAuthorization.customers.through),
        _t(ShipDebitAuthorization.segments.through),
        _t(ShipDebitAuthorization.products.through),
    )
    members = _t(SegmentMembership)
    # The programs (and authorizations) that may take a line, and whom they take: small tables,
    # materialized first, that the lines then join by hash on supplier, customer or product.
    sd = ProgramType.SHIP_AND_DEBIT in program_types and source_type == SourceType.SHIPMENT_LINE
    ctes = f"""
        progs AS MATERIALIZED (
            SELECT p.id, p.program_type, p.supplier_id, p.customer_id, p.customer_segment_id,
                   p.start_date, p.end_date,
                   EXISTS (SELECT 1 FROM {pprod} x WHERE x.rebateprogram_id = p.id)
                   OR EXISTS (SELECT 1 FROM {pbrand} x WHERE x.rebateprogram_id = p.id)
                   OR EXISTS (SELECT 1 FROM {pcat} x WHERE x.rebateprogram_id = p.id) AS restricted
            FROM {prog} p
            WHERE p.status = %(active)s
              AND ((p.program_type = ANY(%(types)s) AND p.basis = %(basis)s)
                   OR (%(sd)s AND p.program_type = %(sd_type)s))
        ),
        cv_customers AS MATERIALIZED (
            SELECT p.id AS program_id, p.customer_id FROM progs p
            WHERE p.program_type = %(cv_type)s AND p.customer_id IS NOT NULL
            UNION
            SELECT p.id, m.customer_id FROM progs p JOIN {members} m ON m.segment_id = p.customer_segment_id
            WHERE p.program_type = %(cv_type)s AND p.customer_id IS NULL
        ),
        sd_auths AS MATERIALIZED (
            SELECT a.id AS auth_id, a.program_id, ap.product_id,
                   GREATEST(a.valid_from, p.start_date) AS d_from, LEAST(a.valid_to, p.end_date) AS d_to
            FROM progs p
            JOIN {auth} a ON a.program_id = p.id
            JOIN {aprod} ap ON ap.shipdebitauthorization_id = a.id
            WHERE p.program_type = %(sd_type)s
        ),
        sd_customers AS MATERIALIZED (
            SELECT c.shipdebitauthorization_id AS auth_id, c.customer_id FROM {acust} c
            WHERE c.shipdebitauthorization_id IN (SELECT auth_id FROM sd_auths)
            UNION
            SELECT g.shipdebitauthorization_id, m.customer_id
            FROM {aseg} g JOIN {members} m ON m.segment_id = g.pricingsegment_id
            WHERE g.shipdebitauthorization_id IN (SELECT auth_id FROM sd_auths)
        )"""  # noqa: S608
    eligible = f"""(NOT p.restricted
        OR EXISTS (SELECT 1 FROM {pprod} x WHERE x.rebateprogram_id = p.id AND x.product_id = s.product_id)
        OR EXISTS (SELECT 1 FROM {pbrand} x WHERE x.rebateprogram_id = p.id AND x.brand_id = s.brand_id)
        OR EXISTS (SELECT 1 FROM {pcat} x WHERE x.rebateprogram_id = p.id AND x.category_id = s.category_id))"""  # noqa: E501, S608
    parts = []
    if ProgramType.SUPPLIER_REBATE in program_types:
        parts.append(f"""
            SELECT s.*, p.id AS program_id, NULL::bigint AS auth_id FROM rebate_src s
            JOIN progs p ON p.supplier_id = {supplier_col} AND p.program_type = %(sr_type)s
                AND s.on_date BETWEEN p.start_date AND p.end_date
            WHERE {eligible}""")  # noqa: S608
    if ProgramType.CUSTOMER_VOLUME in program_types:
        parts.append(f"""
            SELECT s.*, p.id AS program_id, NULL::bigint AS auth_id FROM rebate_src s
            JOIN cv_customers c ON c.customer_id = s.customer_id
            JOIN progs p ON p.id = c.program_id AND s.on_date BETWEEN p.start_date AND p.end_date
            WHERE {eligible}""")  # noqa: S608
    if sd:
        parts.append("""
            SELECT * FROM (
                SELECT DISTINCT ON (x.program_id, s.sid) s.*, x.program_id, x.auth_id
                FROM rebate_src s
                JOIN sd_auths x ON x.product_id = s.product_id AND s.on_date BETWEEN x.d_from AND x.d_to
                JOIN sd_customers c ON c.auth_id = x.auth_id AND c.customer_id = s.customer_id
                ORDER BY x.program_id, s.sid, x.auth_id
            ) sd""")
    params = {
        "active": ProgramStatus.ACTIVE,
        "types": [t for t in program_types if t != ProgramType.SHIP_AND_DEBIT],
        "basis": basis,
        "sd": sd,
        "sd_type": ProgramType.SHIP_AND_DEBIT,
        "cv_type": ProgramType.CUSTOMER_VOLUME,
        "sr_type": ProgramType.SUPPLIER_REBATE,
    }
    if not parts:
        return run
    with connection.cursor() as cur:
        # The run sorts and hashes its lines in memory rather than on disk (for this transaction).
        cur.execute(
            f"SET LOCAL work_mem = '{WORK_MEM}'; "  # noqa: S608
            "DROP TABLE IF EXISTS rebate_src, rebate_pair, rebate_fx, rebate_new; "
            f"CREATE TEMP TABLE rebate_src ON COMMIT DROP AS SELECT * FROM ({src_sql}) "
            f"AS src({_SRC_COLUMNS}); ANALYZE rebate_src",
            src_params,
        )
        cur.execute(
            f"CREATE TEMP TABLE rebate_pair ON COMMIT DROP AS WITH {ctes} {' UNION ALL '.join(parts)}; "
            "ANALYZE rebate_pair",
            params,
        )
        # Lock what the run writes to, in primary-key order (serialises runs of one program, so
        # the period volumes, the budget and the authorizations' quantities read below are
        # those every earlier run committed).
        cur.execute(
            f"SELECT id, budget_cap IS NOT NULL FROM {prog} "  # noqa: S608
            "WHERE id IN (SELECT program_id FROM rebate_pair) ORDER BY id FOR UPDATE"
        )
        locked = cur.fetchall()
        capped = any(has_cap for _pk, has_cap in locked)
        if not locked:
            return run
        cur.execute(
            f"SELECT id FROM {auth} WHERE id IN (SELECT auth_id FROM rebate_pair) ORDER BY id FOR UPDATE"  # noqa: S608
        )
        cur.execute(
            f"""DELETE FROM rebate_pair r USING {_t(Accrual)} a
                WHERE a.program_id = r.program_id AND a.source_type = %s AND a.source_id = r.source_id
                  AND a.kind = %s AND a.event_key = ''""",  # noqa: S608
            [source_type, AccrualKind.ACCRUAL],
        )
        run.already = cur.rowcount
        func = functional_currency()
        cur.execute(
            f"""CREATE TEMP TABLE rebate_fx ON COMMIT DROP AS
            WITH need AS (
                SELECT DISTINCT r.currency AS base, p.currency AS quote, r.on_date
                FROM rebate_pair r JOIN {prog} p ON p.id = r.program_id WHERE r.auth_id IS NULL
                UNION SELECT DISTINCT p.currency, %s, r.on_date
                FROM rebate_pair r JOIN {prog} p ON p.id = r.program_id
            )
            SELECT n.base, n.quote, n.on_date,
                CASE WHEN n.base = n.quote THEN 1::numeric ELSE COALESCE(
                    (SELECT x.rate FROM {_t(ExchangeRate)} x
                     WHERE x.base = n.base AND x.quote = n.quote AND x.valid_on <= n.on_date
                     ORDER BY x.valid_on DESC LIMIT 1),
                    (SELECT 1 / x.rate FROM {_t(ExchangeRate)} x
                     WHERE x.base = n.quote AND x.quote = n.base AND x.valid_on <= n.on_date
                     ORDER BY x.valid_on DESC LIMIT 1)) END AS rate
            FROM need n;
            SELECT base, quote, on_date FROM rebate_fx WHERE rate IS NULL LIMIT 1""",  # noqa: S608
            [func],
        )
        missing = cur.fetchone()
        if missing:
            raise NotFound(f"No exchange rate from {missing[0]} to {missing[1]} on or before {missing[2]}.")
        cur.execute(
            _compute_sql(prog, auth, capped=capped),
            {
                "amount_off": DebitMethod.AMOUNT_OFF,
                "new_cost": DebitMethod.NEW_COST,
                "supplier_side": [t.value for t in SUPPLIER_SIDE],
                "volume_kinds": [AccrualKind.ACCRUAL, AccrualKind.REVERSAL],
                "func": func,
            },
        )
        cur.execute(
            """SELECT program_id, SUM(amount), SUM(functional_amount), MAX(on_date), COUNT(*)
               FROM rebate_new GROUP BY program_id ORDER BY program_id"""
        )
        sums = cur.fetchall()
    if not sums:
        return run
    programs = {p.pk: p for p in RebateProgram.objects.filter(pk__in=[r[0] for r in sums])}
    specs = [
        EntrySpec(
            kind=EntryKind.ACCRUAL,
            source_type="accrual_batch",
            source_id=f"{pid}:{_run_key()}",
            program_id=pid,
            program_type=programs[pid].program_type,
            entry_date=last,
            currency=programs[pid].currency,
            amount=amount,
            fx_rate=(functional / amount) if amount else Decimal(1),
            memo=f"{source_type} accruals ({n} accruals)",
        )
        for pid, amount, functional, last, n in sums
    ]
    entries = post_entries_bulk(specs)
    entry_of = {spec.program_id: e.pk for spec, e in zip(specs, entries, strict=True) if e is not None}
    columns = [f.column for f in Accrual._meta.concrete_fields if not f.primary_key]
    select = {
        "program_id": "n.program_id",
        "kind": "%s",
        "source_type": "%s",
        "source_id": "n.source_id",
        "event_key": "''",
        "reverses_id": "NULL",
        "supplier_id": "n.supplier_id",
        "customer_id": "n.customer_id",
        "product_id": "n.product_id",
        "warehouse_id": "n.warehouse_id",
        "authorization_id": "n.auth_id",
        "document": "left(n.document, 60)",
        "source_date": "n.on_date",
        "period_start": "n.period_start",
        "period_end": "n.period_end",
        "quantity": "n.quantity",
        "value": "n.value",
        "source_currency": "n.currency_src",
        "source_value": "n.val",
        "fx_rate": "n.fx_rate",
        "tier": "n.tier",
        "rate": "n.rate",
        "basis": "n.basis",
        "amount": "n.amount",
        "currency": "n.cur",
        "functional_amount": "n.functional_amount",
        "functional_currency": "%s",
        "functional_fx_rate": "n.func_rate",
        "journal_entry_id": "je.entry_id",
        "claimed_at": "NULL",
        "claim_number": "''",
        "created_at": "%s",
    }
    assert set(select) == set(columns), set(columns) ^ set(select)
    fixed = {
        "kind": AccrualKind.ACCRUAL,
        "source_type": source_type,
        "functional_currency": func,
        "created_at": timezone.now(),
    }
    quote = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute(
            f"""INSERT INTO {_t(Accrual)} ({", ".join(quote(c) for c in columns)})
                SELECT {", ".join(select[c] for c in columns)}
                FROM rebate_new n
                LEFT JOIN unnest(%s::bigint[], %s::bigint[]) AS je(program_id, entry_id)
                    ON je.program_id = n.program_id
                ORDER BY n.on_date, n.sid, n.program_id
                RETURNING id""",  # noqa: S608
            [fixed[c] for c in columns if c in fixed] + [list(entry_of), list(entry_of.values())],
        )
        ids = [r[0] for r in cur.fetchall()]
        cur.execute(
            f"""UPDATE {prog} p SET accrued_amount = p.accrued_amount + x.amount
                FROM (SELECT program_id, SUM(amount) AS amount FROM rebate_new GROUP BY program_id) x
                WHERE p.id = x.program_id AND x.amount <> 0;
                UPDATE {auth} a SET consumed_quantity = a.consumed_quantity + x.quantity
                FROM (SELECT auth_id, SUM(quantity) AS quantity FROM rebate_new
                      WHERE auth_id IS NOT NULL GROUP BY auth_id) x
                WHERE a.id = x.auth_id"""  # noqa: S608
        )
    RebateEvent.objects.bulk_create(
        RebateEvent(
            object_type="program",
            object_id=pid,
            action=f"{EntryKind.ACCRUAL}_run",
            after={"accruals": n, "amount": str(amount)},
            note=f"{source_type} accruals",
        )
        for pid, amount, _functional, _last, n in sums
    )
    run.created = CreatedAccruals(ids)
    run.total_amount = sum((r[1] for r in sums), ZERO)
    return run


def _run_key() -> str:
    return uuid.uuid4().hex[:12]


def _compute_sql(prog: str, auth: str, *, capped: bool) -> str:
    """`rebate_new`: one row per accrual to write, with every figure of its basis."""
    tiers = _t(ProgramTier)
    accruals = _t(Accrual)
    # The budget cap clips on the program's running amount; a run with no capped program skips
    # that window (one sort of every accrual less).
    budget = (
        """
    budgeted AS (
        SELECT r.*,
               r.budget_cap - r.accrued_amount AS left_budget,
               SUM(r.amount) OVER (PARTITION BY r.program_id ORDER BY r.on_date, r.sid
                                   ROWS UNBOUNDED PRECEDING) AS running_amount
        FROM rows r
    ),
    capped AS (
        SELECT b.*,
               CASE WHEN b.budget_cap IS NULL THEN b.amount
                    ELSE GREATEST(0, LEAST(b.running_amount, b.left_budget))
                         - GREATEST(0, LEAST(b.running_amount - b.amount, b.left_budget)) END
                   AS final_amount,
               b.budget_cap IS NOT NULL AND b.amount > b.left_budget
                   - GREATEST(0, LEAST(b.running_amount - b.amount, b.left_budget)) AS was_capped
        FROM budgeted b
"""
        if capped
        else """
    capped AS (
        SELECT r.*, r.amount AS final_amount, FALSE AS was_capped FROM rows r
"""
    )
    period_start = """(CASE p.period WHEN 'month' THEN date_trunc('month', r.on_date)
                        WHEN 'quarter' THEN date_trunc('quarter', r.on_date)
                        ELSE date_trunc('year', r.on_date) END)::date"""
    period_len = """(CASE p.period WHEN 'month' THEN interval '1 month'
                      WHEN 'quarter' THEN interval '3 months' ELSE interval '1 year' END)"""
    return f"""
    CREATE TEMP TABLE rebate_new ON COMMIT DROP AS
    WITH base AS (
        SELECT r.*, p.currency AS cur, p.tier_mode, p.tier_measure, p.calc_method, p.budget_cap,
               p.accrued_amount, p.program_type,
               {period_start} AS period_start,
               ({period_start} + {period_len} - interval '1 day')::date AS period_end,
               CASE WHEN r.auth_id IS NULL THEN fx.rate ELSE 1 END AS fx_rate,
               CASE WHEN r.auth_id IS NULL THEN round(r.val * fx.rate, {_minor("p.currency")})
                    ELSE round(r.val, {_minor("r.currency")}) END AS value,
               CASE WHEN p.program_type = ANY(%(supplier_side)s) THEN p.supplier_id END AS prog_supplier
        FROM rebate_pair r
        JOIN {prog} p ON p.id = r.program_id
        LEFT JOIN rebate_fx fx ON r.auth_id IS NULL AND fx.base = r.currency AND fx.quote = p.currency
            AND fx.on_date = r.on_date
    ),
    prior AS (
        SELECT a.program_id, a.period_start, SUM(a.quantity) AS q, SUM(a.value) AS v
        FROM {accruals} a
        WHERE (a.program_id, a.period_start) IN (
                SELECT DISTINCT program_id, period_start FROM base WHERE auth_id IS NULL)
          AND a.kind = ANY(%(volume_kinds)s)
        GROUP BY a.program_id, a.period_start
    ),
    measured AS (
        SELECT b.*,
               CASE WHEN b.tier_measure = 'quantity' THEN b.qty ELSE b.value END AS measure,
               CASE WHEN b.calc_method = 'percent' THEN b.value ELSE b.qty END AS tbase,
               CASE WHEN b.calc_method = 'percent' THEN 100 ELSE 1 END AS scale,
               CASE WHEN b.tier_measure = 'quantity' THEN COALESCE(pr.q, 0) ELSE COALESCE(pr.v, 0) END
               + SUM(CASE WHEN b.tier_measure = 'quantity' THEN b.qty ELSE b.value END)
                   OVER (PARTITION BY b.program_id, b.period_start ORDER BY b.on_date, b.sid
                         ROWS UNBOUNDED PRECEDING)
               - CASE WHEN b.tier_measure = 'quantity' THEN b.qty ELSE b.value END AS before
        FROM base b
        LEFT JOIN prior pr ON pr.program_id = b.program_id AND pr.period_start = b.period_start
        WHERE b.auth_id IS NULL
    ),
    ranked_tiers AS MATERIALIZED (
        SELECT t.program_id, t.lower, t.upper, t.rate,
               row_number() OVER (PARTITION BY t.program_id ORDER BY t.lower) AS idx
        FROM {tiers} t
        WHERE t.program_id IN (SELECT DISTINCT program_id FROM rebate_pair WHERE auth_id IS NULL)
    ),
    located AS (
        -- t1: the tier that holds the period's volume before the line; t2: retrospective, the tier
        -- the line reaches; stepped, the band that holds the top of the line (upper bound
        -- included). A line inside one band (most lines) needs nothing else.
        SELECT m.*, m.before + m.measure AS reached, t0.rate AS rate0,
               t1.idx AS k1, t1.rate AS rate1, t2.idx AS k2, t2.rate AS rate2
        FROM measured m
        LEFT JOIN ranked_tiers t0 ON t0.program_id = m.program_id AND t0.idx = 1
        LEFT JOIN ranked_tiers t1 ON t1.program_id = m.program_id AND m.before >= t1.lower
            AND (t1.upper IS NULL OR m.before < t1.upper)
        LEFT JOIN ranked_tiers t2 ON t2.program_id = m.program_id AND CASE
            WHEN m.tier_mode = 'retrospective' THEN m.before + m.measure >= t2.lower
                AND (t2.upper IS NULL OR m.before + m.measure < t2.upper)
            ELSE m.before + m.measure > t2.lower
                AND (t2.upper IS NULL OR m.before + m.measure <= t2.upper) END
    ),
    earned AS (
        SELECT l.*,
            CASE
                WHEN l.rate0 IS NULL THEN 0
                WHEN l.tier_mode = 'retrospective' THEN l.tbase * COALESCE(l.rate2, l.rate0) / l.scale
                WHEN l.measure <= 0 THEN 0
                WHEN l.k1 = l.k2 THEN l.tbase * l.rate2 / l.scale
                ELSE (SELECT SUM(l.tbase * x.ov * x.rate / (l.measure * l.scale)) FROM (
                        SELECT rt.rate, LEAST(l.reached, COALESCE(rt.upper, l.reached))
                                        - GREATEST(l.before, rt.lower) AS ov
                        FROM ranked_tiers rt WHERE rt.program_id = l.program_id) x
                      WHERE x.ov > 0) END AS raw,
            CASE
                WHEN l.rate0 IS NULL THEN NULL
                WHEN l.tier_mode = 'retrospective' THEN COALESCE(l.k2, 1)
                WHEN l.measure <= 0 THEN COALESCE(l.k1, 1)
                ELSE COALESCE(l.k2, 1) END AS tier,
            CASE
                WHEN l.rate0 IS NULL OR l.measure <= 0 OR l.tier_mode = 'retrospective' THEN NULL
                WHEN l.k1 = l.k2 THEN jsonb_build_array(jsonb_build_object(
                    'tier', l.k2, 'rate', l.rate2::text, 'measure', l.measure::text, 'base', l.tbase::text))
                ELSE (SELECT jsonb_agg(jsonb_build_object('tier', x.idx, 'rate', x.rate::text,
                                                          'measure', x.ov::text,
                                                          'base', (l.tbase * x.ov / l.measure)::text)
                                       ORDER BY x.idx) FROM (
                        SELECT rt.idx, rt.rate, LEAST(l.reached, COALESCE(rt.upper, l.reached))
                                                - GREATEST(l.before, rt.lower) AS ov
                        FROM ranked_tiers rt WHERE rt.program_id = l.program_id) x
                      WHERE x.ov > 0) END AS step_bands
        FROM located l
    ),
    tiered AS (
        SELECT e.*,
            CASE
                WHEN e.rate0 IS NULL THEN 0
                WHEN e.tier_mode = 'retrospective' THEN COALESCE(e.rate2, e.rate0)
                WHEN e.measure <= 0 THEN COALESCE(e.rate1, e.rate0)
                WHEN e.k1 = e.k2 THEN e.rate2
                WHEN e.tbase <> 0 THEN round(e.raw * e.scale / e.tbase, 6)
                ELSE COALESCE(e.rate2, e.rate0) END AS rate,
            jsonb_build_object(
                'mode', e.tier_mode, 'measure', e.tier_measure, 'calc', e.calc_method,
                'period_before', e.before::text,
                'bands', CASE
                    WHEN e.rate0 IS NULL THEN '[]'::jsonb
                    WHEN e.tier_mode = 'retrospective' THEN jsonb_build_array(jsonb_build_object(
                        'tier', COALESCE(e.k2, 1), 'rate', COALESCE(e.rate2, e.rate0)::text,
                        'base', e.tbase::text))
                    ELSE COALESCE(e.step_bands, '[]'::jsonb) END) AS basis,
            e.qty AS quantity
        FROM earned e
    ),
    debits AS (
        SELECT b.*, a.number AS auth_number, a.method, a.max_quantity,
               CASE a.method WHEN %(amount_off)s THEN a.value
                             WHEN %(new_cost)s THEN GREATEST(0, COALESCE(a.base_cost, 0) - a.value)
                             ELSE COALESCE(a.base_cost, 0) * a.value / 100 END AS debit,
               a.max_quantity - a.consumed_quantity AS left_qty,
               SUM(b.qty) OVER (PARTITION BY b.auth_id ORDER BY b.on_date, b.sid
                                ROWS UNBOUNDED PRECEDING) AS running
        FROM base b JOIN {auth} a ON a.id = b.auth_id
    ),
    granted AS (
        SELECT d.*,
               CASE WHEN d.max_quantity IS NULL THEN d.qty
                    ELSE GREATEST(0, LEAST(d.running, d.left_qty))
                         - GREATEST(0, LEAST(d.running - d.qty, d.left_qty)) END AS quantity
        FROM debits d
    ),
    rows AS (
        SELECT program_id, sid, source_id, on_date, product_id, customer_id, warehouse_id, auth_id,
               document, currency AS currency_src, val, cur, budget_cap, accrued_amount, prog_supplier,
               period_start, period_end, fx_rate, value, quantity, tier, rate, basis,
               round(raw, {_minor("cur")}) AS amount
        FROM tiered
        UNION ALL
        SELECT program_id, sid, source_id, on_date, product_id, customer_id, warehouse_id, auth_id,
               document, currency, val, cur, budget_cap, accrued_amount, prog_supplier,
               period_start, period_end, fx_rate, value, quantity, NULL::integer, debit,
               jsonb_build_object('authorization', auth_number, 'method', method,
                                  'unit_debit', debit::text, 'shipped_quantity', qty::text,
                                  'max_quantity', COALESCE(max_quantity::text, 'None'))
               || CASE WHEN quantity < qty
                       THEN jsonb_build_object('remainder_of_maximum', quantity::text)
                       ELSE '{{}}'::jsonb END,
               round(quantity * debit, {_minor("cur")})
        FROM granted WHERE quantity > 0
    ),
{budget}    )
    SELECT c.program_id, c.sid, c.source_id, c.on_date, c.product_id, c.customer_id, c.warehouse_id,
           c.auth_id, c.document, c.currency_src, c.val, c.cur, c.prog_supplier AS supplier_id,
           c.period_start, c.period_end, c.fx_rate, c.value, c.quantity, c.tier, c.rate,
           CASE WHEN c.was_capped THEN c.basis || jsonb_build_object('capped_from', c.amount::text)
                ELSE c.basis END AS basis,
           c.final_amount AS amount,
           round(c.final_amount * fx.rate, {_minor("%(func)s")}) AS functional_amount,
           fx.rate AS func_rate
    FROM capped c
    JOIN rebate_fx fx ON fx.base = c.cur AND fx.quote = %(func)s AND fx.on_date = c.on_date
    """  # noqa: S608
