"""The accrual engine: qualifying source lines (shipment lines, receipts, invoice lines, stock and
open purchase orders under a price drop) earn one `Accrual` per (program, source line); returns
and cancellations write reversing accruals; the nightly re-rating writes adjustment accruals.

Set-based: a run loads its source lines, the active programs and their terms, the accruals that
already exist and the period volumes in a fixed number of queries, computes in memory, and writes
the accruals, their journal entries and the program/authorization counters in a few statements,
however many lines it takes (the INSERTs are batched by 2,000 rows).

Calculation (per program, in the program currency; source values converted with the exchange
rate of the source date, 1 source = rate program):
- the measure that climbs the tiers is the quantity or the value (`tier_measure`); what the rate
  applies to is the value (`percent`, 5 = 5 %) or the quantity (`per_unit`);
- *stepped*: each band of the period's running measure earns its own rate; a line that spans
  bands is split in proportion of its measure;
- *retrospective*: a line earns the rate of the tier its period reaches with it; the re-rating
  (`programs_rerate`, nightly) brings the whole period to the reached tier with an adjustment
  accrual (expected for the period's totals minus what was accrued);
- a budget cap clips the accrual that reaches it (and those after it accrue 0);
- ship-and-debit: (unit debit) x quantity, up to the authorization's maximum quantity: the line
  that crosses it accrues only the remainder, lines after it nothing.
Amounts are rounded once, per accrual, to the currency's minor unit (ROUND_HALF_UP).
"""

from __future__ import annotations

import io
import json
import operator
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.models import Case, F, Max, Q, Sum, Value, When
from django.utils import timezone

from oms.kernel.exceptions import Conflict, NotFound, ValidationFailed
from oms.kernel.money import round_money
from pricing.models import SegmentMembership
from pricing.selectors import exchange_rate_on

from ..models import (
    SUPPLIER_SIDE,
    Accrual,
    AccrualBasis,
    AccrualKind,
    CalcMethod,
    DebitMethod,
    EntryKind,
    Period,
    PriceDrop,
    ProgramType,
    RebateEvent,
    RebateProgram,
    ShipDebitAuthorization,
    SourceType,
    TierMeasure,
    TierMode,
)
from ..states import ProgramStatus
from .accrual_sql import accrue_sql, invoice_lines_source, shipment_lines_source
from .journal import EntrySpec, functional_currency, post_entries_bulk

ZERO = Decimal("0")
HUNDRED = Decimal("100")
BATCH = 2000


# --- facts ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Source:
    """One qualifying source line, as the engine sees it."""

    source_type: str
    source_id: str
    on: date
    product_id: int | None
    quantity: Decimal
    value: Decimal  # in `currency`
    currency: str
    brand_id: int | None = None
    category_id: int | None = None
    product_supplier_id: int | None = None  # the product's primary supplier
    supplier_id: int | None = None  # receipts: the purchase order's supplier
    customer_id: int | None = None
    warehouse_id: int | None = None
    document: str = ""


@dataclass
class _Auth:
    pk: int
    number: str
    valid_from: date
    valid_to: date
    customers: frozenset[int]
    segments: frozenset[int]
    products: frozenset[int]
    max_quantity: Decimal | None
    method: str
    value: Decimal
    base_cost: Decimal | None

    def unit_debit(self) -> Decimal:
        if self.method == DebitMethod.AMOUNT_OFF:
            return self.value
        if self.method == DebitMethod.NEW_COST:
            return max(ZERO, (self.base_cost or ZERO) - self.value)
        return (self.base_cost or ZERO) * self.value / HUNDRED


@dataclass
class _Prog:
    program: RebateProgram
    tiers: list[tuple[Decimal, Decimal | None, Decimal]]
    products: frozenset[int]
    brands: frozenset[int]
    categories: frozenset[int]
    customers: frozenset[int]  # customer volume: the customer, or the group's members
    auths: list[_Auth] = field(default_factory=list)
    pk: int = 0

    def __post_init__(self) -> None:
        self.pk = self.program.pk

    def product_eligible(self, s: Source) -> bool:
        if not (self.products or self.brands or self.categories):
            return True
        return s.product_id in self.products or s.brand_id in self.brands or s.category_id in self.categories


def period_bounds(period: str, on: date) -> tuple[date, date]:
    """The calendar period (month, quarter, year) that holds `on`."""
    if period == Period.MONTH:
        start = on.replace(day=1)
        months = 1
    elif period == Period.QUARTER:
        start = on.replace(month=(on.month - 1) // 3 * 3 + 1, day=1)
        months = 3
    else:
        start = on.replace(month=1, day=1)
        months = 12
    y, m = divmod(start.month - 1 + months, 12)
    end = start.replace(year=start.year + y, month=m + 1) - timedelta(days=1)
    return start, end


def tier_amount(
    tiers: Sequence[tuple[Decimal, Decimal | None, Decimal]],
    mode: str,
    calc: str,
    start: Decimal,
    measure: Decimal,
    base: Decimal,
) -> tuple[Decimal, int | None, Decimal, list[dict]]:
    """What `base` (value or quantity) earns when the period's measure goes from `start` to
    `start + measure`: (unrounded amount, tier index 1.., effective rate, bands used)."""
    if not tiers:
        return ZERO, None, ZERO, []
    scale = HUNDRED if calc == CalcMethod.PERCENT else Decimal(1)
    reached = start + measure
    if mode == TierMode.RETROSPECTIVE:
        idx = 0
        for i, (lower, _upper, _rate) in enumerate(tiers):
            if reached >= lower:
                idx = i
        rate = tiers[idx][2]
        return base * rate / scale, idx + 1, rate, [{"tier": idx + 1, "rate": str(rate), "base": str(base)}]
    if measure <= 0:
        idx = next(
            (i for i, (lo, up, _r) in enumerate(tiers) if start >= lo and (up is None or start < up)), 0
        )
        return ZERO, idx + 1, tiers[idx][2], []
    amount = ZERO
    bands: list[dict] = []
    last = 0
    for i, (lower, upper, rate) in enumerate(tiers):
        top = reached if upper is None else min(reached, upper)
        overlap = top - max(start, lower)
        if overlap <= 0:
            continue
        share = base * overlap / measure
        amount += share * rate / scale
        bands.append({"tier": i + 1, "rate": str(rate), "measure": str(overlap), "base": str(share)})
        last = i
    effective = (amount * scale / base) if base else tiers[last][2]
    return amount, last + 1, effective.quantize(Decimal("0.000001")), bands


class _Fx:
    """Dated exchange rates, read once per (pair, date) in a run."""

    def __init__(self) -> None:
        self._rates: dict[tuple[str, str, date], Decimal] = {}
        self.functional = functional_currency()

    def rate(self, base: str, quote: str, on: date) -> Decimal:
        if base == quote:
            return Decimal(1)
        key = (base, quote, on)
        if key not in self._rates:
            self._rates[key] = exchange_rate_on(base=base, quote=quote, on=on).rate
        return self._rates[key]


# --- loading the programs -------------------------------------------------------------------------


def _load_programs(types: Iterable[str], basis: str | None) -> list[_Prog]:
    qs = RebateProgram.objects.filter(status=ProgramStatus.ACTIVE, program_type__in=list(types))
    if basis is not None:
        qs = qs.filter(Q(basis=basis) | Q(program_type=ProgramType.SHIP_AND_DEBIT))
    programs = list(qs.order_by("pk").prefetch_related("tiers"))
    if not programs:
        return []
    ids = [p.pk for p in programs]
    m2m: dict[str, dict[int, set[int]]] = {}
    for name, column in (("products", "product_id"), ("brands", "brand_id"), ("categories", "category_id")):
        through = getattr(RebateProgram, name).through
        rows = defaultdict(set)
        for pid, oid in through.objects.filter(rebateprogram_id__in=ids).values_list(
            "rebateprogram_id", column
        ):
            rows[pid].add(oid)
        m2m[name] = rows
    segments = {p.customer_segment_id for p in programs if p.customer_segment_id}
    members: dict[int, set[int]] = defaultdict(set)
    auth_rows = list(ShipDebitAuthorization.objects.filter(program_id__in=ids).order_by("pk"))
    auth_m2m: dict[str, dict[int, set[int]]] = {}
    if auth_rows:
        auth_ids = [a.pk for a in auth_rows]
        for name, column in (
            ("customers", "customer_id"),
            ("segments", "pricingsegment_id"),
            ("products", "product_id"),
        ):
            through = getattr(ShipDebitAuthorization, name).through
            rows = defaultdict(set)
            for aid, oid in through.objects.filter(shipdebitauthorization_id__in=auth_ids).values_list(
                "shipdebitauthorization_id", column
            ):
                rows[aid].add(oid)
            auth_m2m[name] = rows
        for rows in auth_m2m["segments"].values():
            segments |= rows
    if segments:
        for seg, cust in SegmentMembership.objects.filter(segment_id__in=segments).values_list(
            "segment_id", "customer_id"
        ):
            members[seg].add(cust)
    auths: dict[int, list[_Auth]] = defaultdict(list)
    for a in auth_rows:
        seg_customers = (
            set().union(*(members[s] for s in auth_m2m["segments"].get(a.pk, ()))) if auth_m2m else set()
        )
        auths[a.program_id].append(
            _Auth(
                pk=a.pk,
                number=a.number,
                valid_from=a.valid_from,
                valid_to=a.valid_to,
                customers=frozenset(auth_m2m["customers"].get(a.pk, set()) | seg_customers),
                segments=frozenset(auth_m2m["segments"].get(a.pk, ())),
                products=frozenset(auth_m2m["products"].get(a.pk, ())),
                max_quantity=a.max_quantity,
                method=a.method,
                value=a.value,
                base_cost=a.base_cost,
            )
        )
    out = []
    for p in programs:
        if p.customer_id:
            customers = frozenset({p.customer_id})
        elif p.customer_segment_id:
            customers = frozenset(members[p.customer_segment_id])
        else:
            customers = frozenset()
        out.append(
            _Prog(
                program=p,
                tiers=[(t.lower, t.upper, t.rate) for t in sorted(p.tiers.all(), key=lambda t: t.lower)],
                products=frozenset(m2m["products"].get(p.pk, ())),
                brands=frozenset(m2m["brands"].get(p.pk, ())),
                categories=frozenset(m2m["categories"].get(p.pk, ())),
                customers=customers,
                auths=auths.get(p.pk, []),
            )
        )
    return out


def _matches(programs: list[_Prog], sources: Sequence[Source]) -> list[tuple[_Prog, Source, _Auth | None]]:
    """Every (program, source line[, authorization]) pair that qualifies, via per-party indexes
    (not programs x lines)."""
    by_supplier: dict[int, list[_Prog]] = defaultdict(list)
    by_customer: dict[int, list[_Prog]] = defaultdict(list)
    by_product: dict[int, list[tuple[_Prog, _Auth]]] = defaultdict(list)
    for p in programs:
        ptype = p.program.program_type
        if ptype == ProgramType.SUPPLIER_REBATE:
            by_supplier[p.program.supplier_id].append(p)
        elif ptype == ProgramType.CUSTOMER_VOLUME:
            for c in p.customers:
                by_customer[c].append(p)
        elif ptype == ProgramType.SHIP_AND_DEBIT:
            for a in p.auths:
                for prod in a.products:
                    by_product[prod].append((p, a))
    out: list[tuple[_Prog, Source, _Auth | None]] = []
    for s in sources:
        supplier = s.supplier_id if s.source_type == SourceType.RECEIPT else s.product_supplier_id
        candidates = list(by_supplier.get(supplier, ())) + list(by_customer.get(s.customer_id, ()))
        for p in candidates:
            prog = p.program
            if prog.start_date <= s.on <= prog.end_date and p.product_eligible(s):
                out.append((p, s, None))
        if s.source_type == SourceType.SHIPMENT_LINE:
            seen: set[int] = set()
            for p, a in by_product.get(s.product_id, ()):
                prog = p.program
                if p.pk in seen or not (prog.start_date <= s.on <= prog.end_date):
                    continue
                if a.valid_from <= s.on <= a.valid_to and s.customer_id in a.customers:
                    seen.add(p.pk)
                    out.append((p, s, a))
    return out


# --- writing accruals ---------------------------------------------------------------------------


@dataclass(slots=True)
class NewAccrual:
    """An accrual the engine writes (the run returns these): the columns it sets; the others
    take their defaults (unclaimed, no event key, no reversal)."""

    program_id: int
    kind: str
    source_type: str
    source_id: str
    source_date: date
    period_start: date
    period_end: date
    amount: Decimal
    currency: str
    functional_amount: Decimal
    functional_currency: str
    functional_fx_rate: Decimal = Decimal(1)
    event_key: str = ""
    reverses_id: int | None = None
    supplier_id: int | None = None
    customer_id: int | None = None
    product_id: int | None = None
    warehouse_id: int | None = None
    authorization_id: int | None = None
    document: str = ""
    quantity: Decimal = ZERO
    value: Decimal = ZERO
    source_currency: str = ""
    source_value: Decimal = ZERO
    fx_rate: Decimal = Decimal(1)
    tier: int | None = None
    rate: Decimal = ZERO
    basis: dict = field(default_factory=dict)
    journal_entry_id: int | None = None


_row = NewAccrual


def _fields():
    return [f for f in Accrual._meta.concrete_fields if not f.primary_key]


_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_ESCAPE)
    if isinstance(value, dict):
        return json.dumps(value, cls=DjangoJSONEncoder).translate(_ESCAPE)
    return value.isoformat() if isinstance(value, date) else str(value)


def _encoder(f):
    """COPY text for one column's values: text escaped, JSON dumped, the rest str() (numbers,
    dates), None as \\N."""
    if isinstance(f, models.JSONField):
        return _copy_text
    if isinstance(f, models.CharField | models.TextField):
        return lambda v: "\\N" if v is None else v.translate(_ESCAPE)
    return lambda v: "\\N" if v is None else str(v)


def _insert_accruals(rows: Sequence[NewAccrual]) -> None:
    """Insert the rows: one COPY on PostgreSQL (the ORM's bulk INSERT costs more in Python than
    the database spends storing 100,000 rows); batched INSERTs elsewhere. Same transaction."""
    if not rows:
        return
    fields = _fields()
    own = list(NewAccrual.__slots__)
    if connection.vendor != "postgresql":
        Accrual.objects.bulk_create(
            [Accrual(**{n: getattr(r, n) for n in own}) for r in rows], batch_size=BATCH
        )
        return
    # The engine's columns first (one encoder per column, chosen once), then the columns it does
    # not set, the same on every row: encoded once, as one suffix.
    now = timezone.now()
    own_fields = [f for f in fields if f.attname in own]
    fixed_fields = [f for f in fields if f.attname not in own]
    suffix = "".join(
        "\t" + _copy_text(now if f.attname == "created_at" else f.get_default()) for f in fixed_fields
    )
    encoders = [_encoder(f) for f in own_fields]
    values = operator.attrgetter(*(f.attname for f in own_fields))
    buf = io.StringIO()
    write = buf.write
    for r in rows:
        write("\t".join([enc(v) for enc, v in zip(encoders, values(r), strict=True)]))
        write(suffix)
        write("\n")
    buf.seek(0)
    fields = own_fields + fixed_fields
    quote = connection.ops.quote_name
    sql = (
        f"COPY {quote(Accrual._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        "FROM STDIN WITH (FORMAT text)"
    )
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        cursor.copy_expert(sql, buf)


# --- the run ----------------------------------------------------------------------------------------


@dataclass
class AccrualRun:
    # NewAccrual rows (in-memory engine) or the Accrual rows written (PostgreSQL: read on demand).
    created: Sequence = field(default_factory=list)
    already: int = 0  # (program, source) pairs that had their accrual already (a redelivery)

    @property
    def total(self) -> Decimal:
        return sum((a.amount for a in self.created), ZERO)


def _lock_programs(ids: Iterable[int]) -> dict[int, tuple[Decimal, Decimal | None]]:
    """Lock the programs a run writes to, in primary-key order: it serialises runs of one program,
    so running tier volumes and the budget are read after every earlier run committed."""
    return {
        pk: (accrued, cap)
        for pk, accrued, cap in RebateProgram.objects.select_for_update(of=("self",))
        .filter(pk__in=sorted(set(ids)))
        .order_by("pk")
        .values_list("pk", "accrued_amount", "budget_cap")
    }


def _lock_authorizations(ids: Iterable[int]) -> dict[int, Decimal]:
    return dict(
        ShipDebitAuthorization.objects.select_for_update(of=("self",))
        .filter(pk__in=sorted(set(ids)))
        .order_by("pk")
        .values_list("pk", "consumed_quantity")
    )


def _add_to_counters(model, column: str, deltas: dict[int, Decimal]) -> None:
    deltas = {pk: d for pk, d in deltas.items() if d}
    if not deltas:
        return
    model.objects.filter(pk__in=list(deltas)).update(
        **{
            column: F(column)
            + Case(*(When(pk=pk, then=Value(d)) for pk, d in deltas.items()), default=Value(ZERO))
        }
    )


def _write(
    rows: list[NewAccrual], programs: dict[int, RebateProgram], kind: str, source_type: str, memo: str
) -> None:
    """Post one journal entry per program for `rows`, insert the rows pointing at it, and add
    their amounts to the programs' accrued totals. Rows carry their functional figures."""
    by_program: dict[int, list[NewAccrual]] = defaultdict(list)
    for a in rows:
        by_program[a.program_id].append(a)
    run = uuid.uuid4().hex[:12]
    specs = []
    for pid, items in by_program.items():
        prog = programs[pid]
        amount = sum((a.amount for a in items), ZERO)
        functional = sum((a.functional_amount for a in items), ZERO)
        specs.append(
            EntrySpec(
                kind=kind,
                source_type=source_type,
                source_id=f"{pid}:{run}",
                program_id=pid,
                program_type=prog.program_type,
                entry_date=max(a.source_date for a in items),
                currency=prog.currency,
                amount=amount,
                fx_rate=(functional / amount) if amount else Decimal(1),
                memo=f"{memo} ({len(items)} accruals)",
            )
        )
    entries = post_entries_bulk(specs)
    for spec, entry in zip(specs, entries, strict=True):
        if entry is not None:
            for a in by_program[spec.program_id]:
                a.journal_entry_id = entry.pk
    _insert_accruals(rows)
    _add_to_counters(
        RebateProgram,
        "accrued_amount",
        {pid: sum((a.amount for a in items), ZERO) for pid, items in by_program.items()},
    )
    RebateEvent.objects.bulk_create(
        RebateEvent(
            object_type="program",
            object_id=pid,
            action=f"{kind}_run",
            after={"accruals": len(items), "amount": str(sum((a.amount for a in items), ZERO))},
            note=memo[:500],
        )
        for pid, items in by_program.items()
    )


def _functional(fx: _Fx, amount: Decimal, currency: str, on: date) -> tuple[Decimal, str, Decimal]:
    func = fx.functional
    rate = fx.rate(currency, func, on)
    return round_money(amount * rate, func), func, rate


_PROGRAM_TYPES = {
    AccrualBasis.SHIPMENTS: [
        ProgramType.SUPPLIER_REBATE,
        ProgramType.CUSTOMER_VOLUME,
        ProgramType.SHIP_AND_DEBIT,
    ],
    AccrualBasis.RECEIPTS: [ProgramType.SUPPLIER_REBATE],
    AccrualBasis.INVOICES: [ProgramType.CUSTOMER_VOLUME],
}


def _in_database() -> bool:
    """PostgreSQL computes the accruals itself (rebates/services/accrual_sql.py); SQLite, which
    has no decimal arithmetic, runs the in-memory engine below. Both give the same accruals."""
    return connection.vendor == "postgresql"


def _accrue_in_database(source: tuple[str, list], *, source_type: str, basis: str) -> AccrualRun:
    with transaction.atomic():
        done = accrue_sql(source, source_type=source_type, program_types=_PROGRAM_TYPES[basis], basis=basis)
    return AccrualRun(created=done.created, already=done.already)


def accrue_sources(sources: Sequence[Source], *, basis: str) -> AccrualRun:
    """Accrue what `sources` (all of one basis: shipments, receipts or invoices) earn under every
    active program. Idempotent per (program, source line): pairs that have their accrual already
    are skipped (and counted in `already`). Runs in the caller's transaction (or its own)."""
    with transaction.atomic():
        return _accrue(sources, basis=basis)


def _accrue(sources: Sequence[Source], *, basis: str) -> AccrualRun:
    run = AccrualRun()
    if not sources:
        return run
    programs = _load_programs(_PROGRAM_TYPES[basis], basis)
    pairs = _matches(programs, sources)
    if not pairs:
        return run
    source_type = sources[0].source_type
    existing = set(
        Accrual.objects.filter(
            program_id__in=sorted({p.pk for p, _s, _a in pairs}),
            source_type=source_type,
            source_id__in=sorted({s.source_id for _p, s, _a in pairs}),
            kind=AccrualKind.ACCRUAL,
            event_key="",
        ).values_list("program_id", "source_id")
    )
    todo = [(p, s, a) for p, s, a in pairs if (p.pk, s.source_id) not in existing]
    run.already = len(pairs) - len(todo)
    if not todo:
        return run
    locked = _lock_programs(p.pk for p, _s, _a in todo)
    todo = [(p, s, a) for p, s, a in todo if p.pk in locked]
    consumed = _lock_authorizations(a.pk for _p, _s, a in todo if a is not None)
    # Running volumes of the periods touched, as committed before this run (one query).
    periods = {(p.pk, period_bounds(p.program.period, s.on)[0]) for p, s, a in todo if a is None}
    running: dict[tuple[int, date], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    if periods:
        rows = (
            Accrual.objects.filter(
                program_id__in={pid for pid, _ in periods},
                period_start__in={start for _, start in periods},
                kind__in=[AccrualKind.ACCRUAL, AccrualKind.REVERSAL],
            )
            .order_by()
            .values("program_id", "period_start")
            .annotate(q=Sum("quantity"), v=Sum("value"))
        )
        for r in rows:
            running[(r["program_id"], r["period_start"])] = [r["q"] or ZERO, r["v"] or ZERO]
    budget_left = {
        pid: (cap - accrued) if cap is not None else None for pid, (accrued, cap) in locked.items()
    }
    fx = _Fx()
    todo.sort(key=lambda t: (t[1].on, t[1].source_id.zfill(20), t[0].pk))
    created: list[NewAccrual] = []
    auth_used: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for p, s, a in todo:
        prog = p.program
        cur = prog.currency
        start, end = period_bounds(prog.period, s.on)
        basis_json: dict = {}
        if a is not None:
            left = None if a.max_quantity is None else a.max_quantity - consumed[a.pk] - auth_used[a.pk]
            qty = s.quantity if left is None else min(s.quantity, max(ZERO, left))
            if qty <= 0:
                continue  # the authorization's maximum is used up: nothing to accrue
            debit = a.unit_debit()
            raw = qty * debit
            rate, tier, value, fx_rate = debit, None, round_money(s.value, s.currency), Decimal(1)
            auth_used[a.pk] += qty
            basis_json = {
                "authorization": a.number,
                "method": a.method,
                "unit_debit": str(debit),
                "shipped_quantity": str(s.quantity),
                "max_quantity": str(a.max_quantity),
            }
            if qty < s.quantity:
                basis_json["remainder_of_maximum"] = str(qty)
        else:
            fx_rate = fx.rate(s.currency, cur, s.on)
            value = round_money(s.value * fx_rate, cur)
            qty = s.quantity
            measure = qty if prog.tier_measure == TierMeasure.QUANTITY else value
            base = value if prog.calc_method == CalcMethod.PERCENT else qty
            key = (prog.pk, start)
            before = running[key][0] if prog.tier_measure == TierMeasure.QUANTITY else running[key][1]
            raw, tier, rate, bands = tier_amount(
                p.tiers, prog.tier_mode, prog.calc_method, before, measure, base
            )
            running[key][0] += qty
            running[key][1] += value
            basis_json = {
                "mode": prog.tier_mode,
                "measure": prog.tier_measure,
                "calc": prog.calc_method,
                "period_before": str(before),
                "bands": bands,
            }
        amount = round_money(raw, cur)
        left_budget = budget_left.get(prog.pk)
        if left_budget is not None and amount > left_budget:
            basis_json["capped_from"] = str(amount)
            amount = max(ZERO, left_budget)
        if left_budget is not None:
            budget_left[prog.pk] = left_budget - amount
        func_amount, func, func_rate = _functional(fx, amount, cur, s.on)
        created.append(
            _row(
                program_id=prog.pk,
                kind=AccrualKind.ACCRUAL,
                source_type=s.source_type,
                source_id=s.source_id,
                supplier_id=prog.supplier_id if prog.program_type in SUPPLIER_SIDE else None,
                customer_id=s.customer_id,
                product_id=s.product_id,
                warehouse_id=s.warehouse_id,
                authorization_id=a.pk if a else None,
                document=s.document[:60],
                source_date=s.on,
                period_start=start,
                period_end=end,
                quantity=qty,
                value=value,
                source_currency=s.currency,
                source_value=s.value,
                fx_rate=fx_rate,
                tier=tier,
                rate=rate,
                basis=basis_json,
                amount=amount,
                currency=cur,
                functional_amount=func_amount,
                functional_currency=func,
                functional_fx_rate=func_rate,
            )
        )
    if not created:
        return run
    _write(
        created,
        {p.pk: p.program for p, _s, _a in todo},
        EntryKind.ACCRUAL,
        "accrual_batch",
        f"{source_type} accruals",
    )
    _add_to_counters(ShipDebitAuthorization, "consumed_quantity", dict(auth_used))
    run.created = created
    return run


# --- sources from events ------------------------------------------------------------------------------


def shipment_line_sources(*, shipment_line_ids: Sequence[int]) -> list[Source]:
    """The shipped lines as sources: value = shipped quantity x the order line's net unit price,
    in the order currency, dated the shipment's ship date (one query)."""
    from fulfillment.models import ShipmentLine

    rows = (
        ShipmentLine.objects.filter(pk__in=list(shipment_line_ids), quantity_shipped__gt=0)
        .order_by("pk")
        .values_list(
            "pk",
            "quantity_shipped",
            "shipment__number",
            "shipment__shipped_at",
            "shipment__warehouse_id",
            "fulfillment_line__product_id",
            "fulfillment_line__product__brand_id",
            "fulfillment_line__product__category_id",
            "fulfillment_line__product__primary_supplier_id",
            "fulfillment_line__order_line__unit_net_price",
            "fulfillment_line__order__currency",
            "fulfillment_line__order__customer_id",
        )
    )
    out = []
    for pk, qty, number, shipped_at, wh, prod, brand, cat, psup, price, currency, customer in rows:
        on = timezone.localdate(shipped_at) if shipped_at else timezone.localdate()
        out.append(
            Source(
                source_type=SourceType.SHIPMENT_LINE,
                source_id=str(pk),
                on=on,
                product_id=prod,
                quantity=qty,
                value=qty * price,
                currency=currency,
                brand_id=brand,
                category_id=cat,
                product_supplier_id=psup,
                customer_id=customer,
                warehouse_id=wh,
                document=number,
            )
        )
    return out


def accrue_shipment_lines(*, shipment_line_ids: Sequence[int]) -> AccrualRun:
    """Accrue shipped lines (the `shipment.shipped` subscriber's service; the bench calls it
    with 100,000 lines)."""
    if _in_database():
        return _accrue_in_database(
            shipment_lines_source(shipment_line_ids),
            source_type=SourceType.SHIPMENT_LINE,
            basis=AccrualBasis.SHIPMENTS,
        )
    return accrue_sources(
        shipment_line_sources(shipment_line_ids=shipment_line_ids), basis=AccrualBasis.SHIPMENTS
    )


def accrue_shipment(*, shipment_number: str) -> AccrualRun:
    from fulfillment.models import ShipmentLine

    ids = list(ShipmentLine.objects.filter(shipment__number=shipment_number).values_list("pk", flat=True))
    return accrue_shipment_lines(shipment_line_ids=ids)


def accrue_receipt(*, movement_id: int, purchase_order_line_id: int) -> AccrualRun:
    """A purchase-order receipt: value = received quantity x the PO line's unit cost, in the PO
    currency, for supplier rebates based on receipts of the PO's supplier."""
    from inventory.models import PurchaseOrderLine, StockMovement

    movement = (
        StockMovement.objects.filter(pk=movement_id)
        .values_list("quantity", "created_at", "position__warehouse_id")
        .first()
    )
    line = (
        PurchaseOrderLine.objects.filter(pk=purchase_order_line_id)
        .values_list(
            "product_id",
            "product__brand_id",
            "product__category_id",
            "unit_cost",
            "purchase_order__supplier_id",
            "purchase_order__currency",
            "purchase_order_id",
        )
        .first()
    )
    if movement is None or line is None:
        raise NotFound("No such receipt.")
    qty, created_at, warehouse_id = movement
    product_id, brand_id, category_id, unit_cost, supplier_id, currency, po_id = line
    source = Source(
        source_type=SourceType.RECEIPT,
        source_id=str(movement_id),
        on=timezone.localdate(created_at),
        product_id=product_id,
        quantity=qty,
        value=qty * (unit_cost or ZERO),
        currency=currency,
        brand_id=brand_id,
        category_id=category_id,
        supplier_id=supplier_id,
        warehouse_id=warehouse_id,
        document=f"PO-{po_id:06d}",
    )
    return accrue_sources([source], basis=AccrualBasis.RECEIPTS)


def invoice_line_sources(*, invoice_number: str) -> list[Source]:
    """An issued invoice's lines as sources: net value, invoice currency, dated the issue date."""
    from billing.models import InvoiceLine

    rows = (
        InvoiceLine.objects.filter(invoice__number=invoice_number)
        .order_by("pk")
        .values_list(
            "pk",
            "quantity",
            "net",
            "invoice__currency",
            "invoice__issued_at",
            "invoice__customer_id",
            "order_line__product_id",
            "order_line__product__brand_id",
            "order_line__product__category_id",
        )
    )
    return [
        Source(
            source_type=SourceType.INVOICE_LINE,
            source_id=str(pk),
            on=timezone.localdate(issued_at or timezone.now()),
            product_id=prod,
            quantity=qty,
            value=net,
            currency=cur,
            brand_id=brand,
            category_id=cat,
            customer_id=customer,
            document=invoice_number,
        )
        for pk, qty, net, cur, issued_at, customer, prod, brand, cat in rows
    ]


def accrue_invoice(*, invoice_number: str) -> AccrualRun:
    """An issued invoice's lines (net value, invoice currency) for customer volume rebates based
    on invoices."""
    if _in_database():
        return _accrue_in_database(
            invoice_lines_source(invoice_number),
            source_type=SourceType.INVOICE_LINE,
            basis=AccrualBasis.INVOICES,
        )
    return accrue_sources(invoice_line_sources(invoice_number=invoice_number), basis=AccrualBasis.INVOICES)


# --- reversals ------------------------------------------------------------------------------------------


@transaction.atomic
def accrual_reverse(
    *, source_type: str, source_id: str, event_key: str, quantity: Decimal | None = None, reason: str = ""
) -> list[NewAccrual]:
    """Reverse what a source line earned, under every program, because `quantity` of it came back
    (a return) or was canceled (None: all of what is left). Writes reversing accruals (negative,
    `reverses` set), never edits; idempotent per `event_key` (the return or cancellation
    reference): the same event again reverses nothing twice. A ship-and-debit reversal gives the
    quantity back to its authorization; every reversal gives its amount back to the budget."""
    if not event_key:
        raise ValidationFailed(
            "A reversal names the event it reverses for.", fields={"event_key": ["Required."]}
        )
    if quantity is not None and quantity <= 0:
        raise ValidationFailed("A returned quantity is positive.", fields={"quantity": ["Must be above 0."]})
    originals = list(
        Accrual.objects.filter(source_type=source_type, source_id=str(source_id), kind=AccrualKind.ACCRUAL)
        .select_related("program")
        .order_by("pk")
    )
    if not originals:
        return []
    _lock_programs(a.program_id for a in originals)
    _lock_authorizations(a.authorization_id for a in originals if a.authorization_id)
    prior = defaultdict(lambda: [ZERO, ZERO, ZERO, set()])  # qty, value, amount, event keys
    for r in Accrual.objects.filter(reverses__in=originals).values(
        "reverses_id", "quantity", "value", "amount", "functional_amount", "event_key"
    ):
        acc = prior[r["reverses_id"]]
        acc[0] += -r["quantity"]
        acc[1] += -r["amount"]
        acc[2] += -r["functional_amount"]
        acc[3].add(r["event_key"])
    rows: list[NewAccrual] = []
    auth_back: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for orig in originals:
        done_qty, done_amount, done_func, keys = prior[orig.pk]
        if event_key in keys:
            continue  # this event was reversed already
        source_qty = (
            Decimal(orig.basis.get("shipped_quantity", orig.quantity))
            if orig.authorization_id
            else orig.quantity
        )
        left_amount = orig.amount - done_amount
        if not left_amount and not (orig.quantity - done_qty):
            continue
        if quantity is None:
            fraction = None
        else:
            fraction = min(Decimal(1), quantity / source_qty) if source_qty else Decimal(1)
        if fraction is None or fraction * orig.amount >= left_amount:
            # All that is left (the last return reverses the rounding remainders too).
            amount, func, qty = left_amount, orig.functional_amount - done_func, orig.quantity - done_qty
        else:
            amount = round_money(orig.amount * fraction, orig.currency)
            func = round_money(orig.functional_amount * fraction, orig.functional_currency)
            qty = min(orig.quantity - done_qty, orig.quantity * fraction)
        value = orig.value * (qty / orig.quantity) if orig.quantity else ZERO
        rows.append(
            _row(
                program_id=orig.program_id,
                kind=AccrualKind.REVERSAL,
                source_type=orig.source_type,
                source_id=orig.source_id,
                event_key=event_key[:80],
                reverses_id=orig.pk,
                supplier_id=orig.supplier_id,
                customer_id=orig.customer_id,
                product_id=orig.product_id,
                warehouse_id=orig.warehouse_id,
                authorization_id=orig.authorization_id,
                document=orig.document,
                source_date=timezone.localdate(),
                period_start=orig.period_start,
                period_end=orig.period_end,
                quantity=-qty,
                value=-round_money(value, orig.currency),
                source_currency=orig.source_currency,
                source_value=-(orig.source_value * (qty / orig.quantity) if orig.quantity else ZERO),
                fx_rate=orig.fx_rate,
                tier=orig.tier,
                rate=orig.rate,
                basis={
                    "reverses": orig.pk,
                    "returned_quantity": str(quantity) if quantity is not None else "all",
                    "reason": reason[:200],
                },
                amount=-amount,
                currency=orig.currency,
                functional_amount=-func,
                functional_currency=orig.functional_currency,
                functional_fx_rate=orig.functional_fx_rate,
            )
        )
        if orig.authorization_id:
            auth_back[orig.authorization_id] -= qty
    if not rows:
        return []
    programs = {a.program_id: a.program for a in originals}
    _write(rows, programs, EntryKind.REVERSAL, "accrual_reversal", f"reversal {event_key}")
    _add_to_counters(ShipDebitAuthorization, "consumed_quantity", dict(auth_back))
    return rows


def reverse_shipment_return(*, lines: Sequence[dict], event_key: str, reason: str = "") -> list[NewAccrual]:
    """A return of shipped lines (`shipment.returned`: lines carry `shipment_line` and
    `quantity`): reverse each line's accruals for the returned quantity."""
    out: list[NewAccrual] = []
    for i, line in enumerate(lines):
        qty = line.get("quantity")
        out += accrual_reverse(
            source_type=SourceType.SHIPMENT_LINE,
            source_id=str(line["shipment_line"]),
            event_key=f"{event_key}:{i}" if len(lines) > 1 else event_key,
            quantity=Decimal(str(qty)) if qty is not None else None,
            reason=reason,
        )
    return out


def reverse_order_line_cancellation(
    *, order_number: str, line_number: int, event_key: str
) -> list[NewAccrual]:
    """An order line canceled (`order.line_canceled`): whatever its shipments earned is reversed
    in full (usually nothing: a line is canceled before it ships)."""
    from fulfillment.models import ShipmentLine

    ids = ShipmentLine.objects.filter(
        shipment__order_number=order_number,
        fulfillment_line__order_line__line_number=line_number,
    ).values_list("pk", flat=True)
    out: list[NewAccrual] = []
    for pk in ids:
        out += accrual_reverse(
            source_type=SourceType.SHIPMENT_LINE,
            source_id=str(pk),
            event_key=event_key,
            reason="line canceled",
        )
    return out


# --- re-rating ------------------------------------------------------------------------------------------


@transaction.atomic
def programs_rerate(
    *, today: date | None = None, program_ids: Sequence[int] | None = None
) -> list[NewAccrual]:
    """Bring every tiered program's periods to what their totals earn now (nightly beat): for each
    (program, period) with accruals, expected = the tiers over the period's net measure and base
    (retrospective: the reached tier's rate on the whole base); the difference to what was accrued
    (accruals, reversals and earlier adjustments) is written as one adjustment accrual. Keyed by
    the period and the last accrual it saw: a re-run with nothing new writes nothing.
    Periods that ended more than a period before `today` are left alone (closed)."""
    today = today or timezone.localdate()
    qs = RebateProgram.objects.filter(
        program_type__in=[ProgramType.SUPPLIER_REBATE, ProgramType.CUSTOMER_VOLUME],
        status__in=[ProgramStatus.ACTIVE, ProgramStatus.EXPIRED, ProgramStatus.TERMINATED],
    )
    if program_ids is not None:
        qs = qs.filter(pk__in=list(program_ids))
    programs = {p.pk: p for p in qs.prefetch_related("tiers")}
    if not programs:
        return []
    locked = _lock_programs(programs)
    horizon = today - timedelta(days=400)
    rows = (
        Accrual.objects.filter(program_id__in=list(locked), period_end__gte=horizon)
        .order_by()
        .values("program_id", "period_start", "period_end")
        .annotate(
            q=Sum("quantity", filter=~Q(kind=AccrualKind.ADJUSTMENT)),
            v=Sum("value", filter=~Q(kind=AccrualKind.ADJUSTMENT)),
            accrued=Sum("amount"),
            last=Max("pk"),
            last_date=Max("source_date"),
            supplier=Max("supplier_id"),
            customer=Max("customer_id"),
        )
    )
    budget_left = {
        pid: (cap - accrued) if cap is not None else None for pid, (accrued, cap) in locked.items()
    }
    fx = _Fx()
    out: list[NewAccrual] = []
    for r in rows:
        prog = programs[r["program_id"]]
        tiers = [(t.lower, t.upper, t.rate) for t in sorted(prog.tiers.all(), key=lambda t: t.lower)]
        q, v = r["q"] or ZERO, r["v"] or ZERO
        measure = q if prog.tier_measure == TierMeasure.QUANTITY else v
        base = v if prog.calc_method == CalcMethod.PERCENT else q
        raw, tier, rate, bands = tier_amount(tiers, prog.tier_mode, prog.calc_method, ZERO, measure, base)
        diff = round_money(raw, prog.currency) - (r["accrued"] or ZERO)
        left = budget_left.get(prog.pk)
        if left is not None and diff > left:
            diff = max(ZERO, left)
        if not diff:
            continue
        if left is not None:
            budget_left[prog.pk] = left - diff
        source_id = f"{r['period_start'].isoformat()}:{r['last']}"
        if Accrual.objects.filter(
            program_id=prog.pk,
            source_type=SourceType.PERIOD,
            source_id=source_id,
            kind=AccrualKind.ADJUSTMENT,
        ).exists():
            continue
        on = min(today, r["period_end"])
        func_amount, func, func_rate = _functional(fx, diff, prog.currency, on)
        out.append(
            _row(
                program_id=prog.pk,
                kind=AccrualKind.ADJUSTMENT,
                source_type=SourceType.PERIOD,
                source_id=source_id,
                supplier_id=prog.supplier_id if prog.supplier_side else None,
                customer_id=prog.customer_id,
                document=f"{prog.code} {r['period_start'].isoformat()}",
                source_date=on,
                period_start=r["period_start"],
                period_end=r["period_end"],
                tier=tier,
                rate=rate,
                basis={
                    "mode": prog.tier_mode,
                    "period_quantity": str(q),
                    "period_value": str(v),
                    "expected": str(round_money(raw, prog.currency)),
                    "accrued_before": str(r["accrued"]),
                    "bands": bands,
                },
                amount=diff,
                currency=prog.currency,
                functional_amount=func_amount,
                functional_currency=func,
                functional_fx_rate=func_rate,
            )
        )
    if out:
        _write(out, programs, EntryKind.ADJUSTMENT, "accrual_adjustment", "tier re-rating")
    return out


# --- price protection ---------------------------------------------------------------------------------


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@transaction.atomic
def price_drop_accrue(*, price_drop_id: int) -> list[NewAccrual]:
    """Price protection: claim (old cost - new cost) on the stock on hand at the start of the
    effective date, per warehouse (the ledger's sum up to then), and on the open purchase-order
    quantities of that product from the program's supplier (ordered - received, POs approved,
    sent or partially received, created before the effective date). Once per price drop."""
    from inventory.models import PurchaseOrderLine, StockMovement
    from inventory.states import PO_OPEN_STATUSES

    drop = PriceDrop.objects.select_for_update(of=("self",)).filter(pk=price_drop_id).first()
    if drop is None:
        raise NotFound("No such price drop.")
    if drop.accrued_at is not None:
        return []
    program = RebateProgram.objects.get(pk=drop.program_id)
    if program.program_type != ProgramType.PRICE_PROTECTION or program.status != ProgramStatus.ACTIVE:
        raise Conflict("Only an active price-protection program accrues price drops.")
    if drop.effective_date > timezone.localdate():
        raise Conflict("This price drop takes effect later; it accrues on its date.")
    warehouses = set(drop.warehouses.values_list("pk", flat=True))
    cutoff = _start_of(drop.effective_date)
    stock = StockMovement.objects.filter(position__product_id=drop.product_id, created_at__lt=cutoff)
    po_lines = PurchaseOrderLine.objects.filter(
        product_id=drop.product_id,
        purchase_order__supplier_id=program.supplier_id,
        purchase_order__status__in=PO_OPEN_STATUSES,
        purchase_order__created_at__lt=cutoff,
        quantity_ordered__gt=F("quantity_received"),
    )
    if warehouses:
        stock = stock.filter(position__warehouse_id__in=warehouses)
        po_lines = po_lines.filter(purchase_order__warehouse_id__in=warehouses)
    on_hand = (
        stock.order_by()
        .values("position__warehouse_id")
        .annotate(q=Sum("quantity"))
        .order_by("position__warehouse_id")
    )
    open_po = po_lines.order_by("pk").values_list(
        "pk",
        "purchase_order__warehouse_id",
        "purchase_order_id",
        "quantity_ordered",
        "quantity_received",
    )
    diff = drop.old_cost - drop.new_cost
    locked = _lock_programs([program.pk])
    accrued, cap = locked[program.pk]
    left = None if cap is None else cap - accrued
    fx = _Fx()
    on = drop.effective_date
    items = [
        (
            SourceType.PRICE_DROP_STOCK,
            f"{drop.pk}:{r['position__warehouse_id']}",
            r["position__warehouse_id"],
            r["q"],
            f"stock {on.isoformat()}",
        )
        for r in on_hand
        if r["q"] and r["q"] > 0
    ] + [
        (SourceType.PRICE_DROP_PO, f"{drop.pk}:{pk}", wh, ordered - received, f"PO-{po_id:06d}")
        for pk, wh, po_id, ordered, received in open_po
    ]
    rows: list[NewAccrual] = []
    for source_type, source_id, wh, qty, document in items:
        amount = round_money(qty * diff, program.currency)
        basis = {"old_cost": str(drop.old_cost), "new_cost": str(drop.new_cost), "price_drop": drop.pk}
        if left is not None:
            if amount > left:
                basis["capped_from"] = str(amount)
                amount = max(ZERO, left)
            left -= amount
        func_amount, func, func_rate = _functional(fx, amount, program.currency, on)
        rows.append(
            _row(
                program_id=program.pk,
                kind=AccrualKind.ACCRUAL,
                source_type=source_type,
                source_id=source_id,
                supplier_id=program.supplier_id,
                product_id=drop.product_id,
                warehouse_id=wh,
                document=document,
                source_date=on,
                period_start=on,
                period_end=on,
                quantity=qty,
                value=round_money(qty * drop.old_cost, program.currency),
                source_currency=program.currency,
                source_value=qty * drop.old_cost,
                rate=diff,
                basis=basis,
                amount=amount,
                currency=program.currency,
                functional_amount=func_amount,
                functional_currency=func,
                functional_fx_rate=func_rate,
            )
        )
    if rows:
        _write(rows, {program.pk: program}, EntryKind.ACCRUAL, "accrual_batch", f"price drop {drop.pk}")
    PriceDrop.objects.filter(pk=drop.pk).update(accrued_at=timezone.now())
    return rows


def price_drops_accrue_due(*, today: date | None = None) -> int:
    """Price drops of active programs whose date has come and that have not accrued (beat)."""
    today = today or timezone.localdate()
    ids = list(
        PriceDrop.objects.filter(
            accrued_at__isnull=True, effective_date__lte=today, program__status=ProgramStatus.ACTIVE
        ).values_list("pk", flat=True)
    )
    for pk in ids:
        price_drop_accrue(price_drop_id=pk)
    return len(ids)
