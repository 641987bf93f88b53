"""The submission pipeline: one service for the API, the staff UI and the file import.

defaulting -> validation -> pricing -> compliance -> credit -> approval -> write (order, lines,
holds, events in bulk) -> reservation (reserve-at-capture channels) -> outbox -> credit exposure.
All in one transaction: a failure anywhere leaves nothing behind. The number of queries does not
grow with the number of lines (products, conversions, lines, events and holds are read or written
in one statement each; inventory reserves all lines in one statement; pricing loads a fixed
snapshot).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import Product, UnitOfMeasure, UomConversion
from catalog.services import quantity_precision_errors
from customers.models import (
    CreditExposure,
    Customer,
    CustomerKind,
    CustomerSite,
    CustomerStatus,
    DemandClass,
    PaymentTerms,
)
from customers.selectors import credit_position_of
from customers.services import credit_exposure_adjust
from inventory.selectors import channel_warehouse_ids
from inventory.services import ReserveLine, backorder_create, stock_reserve, stock_reserve_ranked
from oms.kernel import dbretry, events, fastinsert, rawrows, refcache
from oms.kernel.context import get_correlation_id
from oms.kernel.exceptions import (
    DomainError,
    InsufficientStock,
    NotFound,
    StaleRevision,
    ValidationFailed,
)
from oms.kernel.money import convert, round_money, validate_currency
from partners.models import Channel
from pricing.engine import LineRequest, ManualAdjustment, PriceRequest, PriceResult, ShipTo
from pricing.selectors import exchange_rate_on
from pricing.services import coupon_redeem, price_quote

from ..actors import Actor
from ..audit import event_build
from ..compliance import ScreeningResult, normalize_party_name
from ..inputs import AddressInput, LineInput, OrderInput
from ..models import (
    COMPLIANCE_HOLD,
    CREDIT_HOLD,
    ApprovalRuleKind,
    ChannelOrderPolicy,
    CompliancePolicy,
    DefaultableField,
    EventKind,
    OrderEvent,
    OrderHold,
    OrderLine,
    SalesOrder,
    ShortagePolicy,
)
from ..numbering import order_number_next
from ..reference import approval_rules, channel_order_policy, defaulting_rules, screening_lists
from ..states import OPEN_FOR_CREDIT, LineStatus, OrderStatus, ensure_order_transition
from .holds import system_hold_code
from .revisions import lines_diff, release_stock_for, revision_check

MAX_LINES = 1000
DEMAND_TYPE = "order_line"


class ComplianceRejected(DomainError):
    status_code = 422
    code = "compliance_rejected"
    default_message = "The order cannot be accepted under trade-compliance rules."


@dataclass
class _Plan:
    """Everything decided before the first write."""

    status: str = OrderStatus.OPEN
    holds: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (code, reason, details)
    approval_reasons: list[str] = field(default_factory=list)
    credit_amount: Decimal = Decimal(0)
    credit_currency: str = ""


# --- customer, addresses, defaults ---------------------------------------------------------------


@functools.cache
def _b2b_customer_query(vendor: str) -> tuple[str, rawrows.Columns, rawrows.Columns, rawrows.Columns]:
    quote = connection.ops.quote_name
    c, e, s = (
        rawrows.Columns(m, a) for m, a in ((Customer, "c"), (CreditExposure, "e"), (CustomerSite, "s"))
    )

    def col(model, name: str) -> str:
        return quote(model._meta.get_field(name).column)

    customer_id = f"c.{col(Customer, 'id')}"
    exposures, sites = quote(CreditExposure._meta.db_table), quote(CustomerSite._meta.db_table)
    sql = (
        f"SELECT {c.sql}, {e.sql}, {s.sql} FROM {quote(Customer._meta.db_table)} c "  # noqa: S608
        f"LEFT OUTER JOIN {exposures} e ON e.{col(CreditExposure, 'customer')} = {customer_id} "
        f"LEFT OUTER JOIN {sites} s ON s.{col(CustomerSite, 'customer')} = {customer_id} "
        f"AND s.{col(CustomerSite, 'active')} = %s WHERE c.{col(Customer, 'account_number')} = %s "
        f"ORDER BY s.{col(CustomerSite, 'is_primary')} DESC, s.{col(CustomerSite, 'id')}"
    )
    return sql, c, e, s


def _b2b_customer(account_number: str) -> Customer | None:
    """The customer with its credit exposure (the credit check reads it) and its active sites
    (primary first: the default addresses, and pricing's view of the customer), in one statement
    built once; a capture runs it every time. The sites are kept on the instance as `_active_sites`."""
    sql, c, e, s = _b2b_customer_query(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [True, account_number])
        rows = cursor.fetchall()
    if not rows:
        return None
    customer = c.instance(rows[0], 0)
    exposure = e.instance(rows[0], c.width)
    Customer.credit_exposure.related.set_cached_value(customer, exposure)  # None: has none, as select_related
    if exposure is not None:
        CreditExposure.customer.field.set_cached_value(exposure, customer)
    start = c.width + e.width
    customer._active_sites = [site for row in rows if (site := s.instance(row, start)) is not None]
    return customer


def _customer_resolve(channel: Channel, data: OrderInput) -> tuple[Customer, bool]:
    """(customer, created). B2B by account number; a consumer by channel + email, created once
    even when two first orders of the same shopper race (the unique index decides)."""
    given = data.customer
    if given.account_number:
        customer = _b2b_customer(given.account_number.strip().upper())
        if customer is None:
            raise ValidationFailed(
                "Unknown customer.", fields={"customer.account_number": ["No such customer account."]}
            )
        return customer, False
    email = given.email.strip()
    if not email:
        raise ValidationFailed(
            "A customer is required.",
            fields={"customer": ["Give an account_number, or a consumer's email and name."]},
        )
    try:
        with transaction.atomic():
            customer, created = Customer.objects.get_or_create(
                kind=CustomerKind.CONSUMER,
                channel=channel,
                email__iexact=email,
                defaults={
                    "email": email,
                    "name": given.name.strip() or email,
                    "credit_limit": Decimal(0),
                    "credit_currency": channel.default_currency,
                    "payment_terms": PaymentTerms.PREPAID,
                },
            )
    except IntegrityError:
        customer = Customer.objects.get(kind=CustomerKind.CONSUMER, channel=channel, email__iexact=email)
        created = False
    return customer, created


def _site_address(site: CustomerSite | None) -> AddressInput | None:
    if site is None:
        return None
    return AddressInput(
        name=site.name,
        line1=site.line1,
        line2=site.line2,
        city=site.city,
        region=site.region,
        postcode=site.postcode,
        country=site.country,
    )


def _default_addresses(
    customer: Customer, data: OrderInput
) -> tuple[AddressInput | None, AddressInput | None, list[CustomerSite] | None]:
    """(bill-to, ship-to, the customer's active sites when they were read for a default)."""
    bill_to, ship_to = data.bill_to, data.ship_to
    sites = getattr(customer, "_active_sites", None)  # read with the customer (a B2B account)
    if bill_to and ship_to:
        return bill_to, ship_to, sites
    if sites is None:
        sites = list(
            CustomerSite.objects.filter(customer=customer, active=True).order_by("-is_primary", "pk")
        )
    if bill_to is None:
        bill_to = _site_address(next((s for s in sites if s.purpose in ("bill_to", "both")), None))
    if ship_to is None:
        ship_to = _site_address(next((s for s in sites if s.purpose in ("ship_to", "both")), None))
    if bill_to is None:
        bill_to = ship_to
    if ship_to is None:
        ship_to = bill_to
    return bill_to, ship_to, sites


def _address_errors(address: AddressInput | None, path: str) -> dict[str, list[str]]:
    if address is None:
        return {path: ["An address is required (none given and none on file)."]}
    errors: dict[str, list[str]] = {}
    for part in ("line1", "city", "country"):
        if not getattr(address, part).strip():
            errors[f"{path}.{part}"] = ["This address part is required."]
    country = address.country.strip()
    if country and (len(country) != 2 or not country.isalpha() or not country.isascii()):
        errors[f"{path}.country"] = ["An ISO 3166-1 alpha-2 code, e.g. US."]
    return errors


def _normalized(address: AddressInput | None) -> dict[str, str] | None:
    if address is None:
        return None
    data = {k: v.strip() for k, v in address.as_dict().items()}
    data["country"] = data["country"].upper()
    return as_stored(data)


def as_stored(value: Any) -> Any:
    """`value` with its keys in the order a JSON column gives them back (PostgreSQL's jsonb sorts
    keys by length, then bytes): the order in hand then renders byte for byte like a re-read one,
    so the capture's response needs no second trip to the database."""
    if isinstance(value, dict):
        ordered = sorted(value.items(), key=lambda item: (len(item[0].encode()), item[0].encode()))
        return {k: as_stored(v) for k, v in ordered}
    if isinstance(value, list):
        return [as_stored(v) for v in value]
    return value


def _defaults_apply(channel: Channel, ship_country: str, data: OrderInput) -> dict[str, Any]:
    """Admin-defined defaults for the fields the order left blank: the most specific rule wins."""
    wanted = {
        DefaultableField.SHIP_METHOD: not data.ship_method,
        DefaultableField.PRIORITY: data.priority is None,
        DefaultableField.DEMAND_CLASS: not data.demand_class,
        DefaultableField.NOTES: not data.notes,
    }
    if not any(wanted.values()):
        return {}
    best: dict[str, tuple[int, str]] = {}
    for rule in defaulting_rules():
        if rule.channel_id not in (None, channel.pk) or rule.country not in ("", ship_country):
            continue
        if not wanted.get(rule.field):
            continue
        score = (2 if rule.channel_id else 0) + (1 if rule.country else 0)
        if rule.field not in best or score > best[rule.field][0]:
            best[rule.field] = (score, rule.value)
    return {name: value for name, (_, value) in best.items()}


# --- lines ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _products_query(vendor: str, count: int) -> tuple[str, rawrows.Columns, rawrows.Columns]:
    quote = connection.ops.quote_name
    p, u = rawrows.Columns(Product, "p"), rawrows.Columns(UnitOfMeasure, "u")
    uom, sku = quote(Product._meta.get_field("uom").column), quote(Product._meta.get_field("sku").column)
    sql = (
        f"SELECT {p.sql}, {u.sql} FROM {quote(Product._meta.db_table)} p "  # noqa: S608
        f"JOIN {quote(UnitOfMeasure._meta.db_table)} u ON u.{quote('id')} = p.{uom} "
        f"WHERE p.{sku} IN ({', '.join(['%s'] * count)})"
    )
    return sql, p, u


def _products_by_sku(skus: list[str]) -> dict[str, Product]:
    """The lines' products with their base unit, by SKU: one statement, built once per number of
    SKUs (up to 64 shapes kept) -- every capture runs it."""
    if not skus:
        return {}
    sql, p, u = _products_query(connection.vendor, len(skus))
    with connection.cursor() as cursor:
        cursor.execute(sql, skus)
        rows = cursor.fetchall()
    found: dict[str, Product] = {}
    for row in rows:
        product = p.instance(row, 0)
        Product.uom.field.set_cached_value(product, u.instance(row, p.width))
        found[product.sku] = product
    return found


def _lines_validate(
    lines: tuple[LineInput, ...], actor: Actor, channel: Channel
) -> tuple[dict[str, Product], dict[tuple[int, str], Decimal]]:
    """Products (one query), units (one query) and conversions to the base unit (one query)."""
    errors: dict[str, list[str]] = {}
    if not lines:
        errors["lines"] = ["At least one line."]
    elif len(lines) > MAX_LINES:
        errors["lines"] = [f"At most {MAX_LINES} lines."]
    if errors:
        raise ValidationFailed("The order is not valid.", fields=errors)
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if line.source_line_id in seen:
            errors[f"lines[{i}].source_line_id"] = ["Duplicate line id in this order."]
        seen.add(line.source_line_id)
        if line.quantity <= 0:
            errors[f"lines[{i}].quantity"] = ["Must be above zero."]
        if line.unit_price is not None and not channel.trusted_prices:
            errors[f"lines[{i}].unit_price"] = ["This channel may not set prices."]
        if line.manual_adjustment is not None and actor.user is None:
            errors[f"lines[{i}].manual_adjustment"] = ["Only staff may adjust prices."]
    skus = {line.sku.strip().upper() for line in lines}
    products = _products_by_sku(sorted(skus))
    uoms = {line.uom.strip().upper() for line in lines if line.uom}
    known_uoms = (
        set(UnitOfMeasure.objects.filter(code__in=uoms).values_list("code", flat=True)) if uoms else set()
    )
    for i, line in enumerate(lines):
        product = products.get(line.sku.strip().upper())
        if product is None:
            errors[f"lines[{i}].sku"] = [f"Unknown SKU '{line.sku}'."]
        elif not product.active:
            errors[f"lines[{i}].sku"] = [f"SKU '{line.sku}' is not sold any more."]
        if line.uom and line.uom.strip().upper() not in known_uoms:
            errors[f"lines[{i}].uom"] = [f"Unknown unit '{line.uom}'."]
    if errors:
        raise ValidationFailed("The order is not valid.", fields=errors)
    factors = _conversion_factors(lines, products)
    for i, line in enumerate(lines):
        product = products[line.sku.strip().upper()]
        uom = (line.uom or product.uom.code).strip().upper()
        if (product.pk, uom) not in factors:
            errors[f"lines[{i}].uom"] = [f"{product.sku} is not sold in {uom}."]
    errors.update(
        quantity_precision_errors(
            {
                f"lines[{i}].quantity": (ln.quantity, ln.uom, products[ln.sku.strip().upper()].uom)
                for i, ln in enumerate(lines)
            }
        )
    )
    if errors:
        raise ValidationFailed("The order is not valid.", fields=errors)
    return products, factors


def _conversion_factors(
    lines: tuple[LineInput, ...], products: dict[str, Product]
) -> dict[tuple[int, str], Decimal]:
    """(product id, unit) -> base units per unit, for every unit the lines use (one query)."""
    factors: dict[tuple[int, str], Decimal] = {}
    pending: set[tuple[int, str, str]] = set()
    for line in lines:
        product = products[line.sku.strip().upper()]
        uom = (line.uom or product.uom.code).strip().upper()
        if uom == product.uom.code:
            factors[(product.pk, uom)] = Decimal(1)
        else:
            pending.add((product.pk, uom, product.uom.code))
    if not pending:
        return factors
    codes = {u for _, u, _ in pending} | {b for _, _, b in pending}
    rows = UomConversion.objects.filter(
        Q(product__isnull=True) | Q(product_id__in={p for p, _, _ in pending}),
        from_uom__code__in=codes,
        to_uom__code__in=codes,
    ).values_list("product_id", "from_uom__code", "to_uom__code", "factor")
    table: dict[tuple[int | None, str, str], Decimal] = {}
    for product_id, src, dst, factor in rows:
        table[(product_id, src, dst)] = factor
        table[(product_id, dst, src)] = Decimal(1) / factor
    for product_id, uom, base in pending:
        factor = table.get((product_id, uom, base)) or table.get((None, uom, base))
        if factor is not None:
            factors[(product_id, uom)] = factor
    return factors


# --- pricing -------------------------------------------------------------------------------------


def _price(
    *,
    channel: Channel,
    customer: Customer,
    sites: list[CustomerSite] | None,
    data: OrderInput,
    currency: str,
    ship_to: dict,
    ship_method: str,
) -> PriceResult:
    request = PriceRequest(
        currency=currency,
        lines=tuple(
            LineRequest(
                sku=line.sku.strip().upper(),
                quantity=line.quantity,
                uom=line.uom.strip().upper() or None,
                manual_adjustment=ManualAdjustment(
                    kind=line.manual_adjustment.kind,
                    value=line.manual_adjustment.value,
                    reason_code=line.manual_adjustment.reason_code,
                )
                if line.manual_adjustment
                else None,
                source_unit_price=line.unit_price if channel.trusted_prices else None,
            )
            for line in data.lines
        ),
        customer_account=customer.account_number or None,
        channel_code=channel.code,
        ship_to=ShipTo(
            country=ship_to.get("country", ""),
            region=ship_to.get("region", ""),
            postcode=ship_to.get("postcode", ""),
        ),
        ship_method=ship_method or None,
        coupon_codes=tuple(data.coupons),
    )
    # The customer and its active sites, when read for the default addresses, are pricing's too.
    return price_quote(request, customer=(customer, sites) if sites is not None else None)


# --- checks --------------------------------------------------------------------------------------


def _screen(
    customer: Customer, addresses: list[dict | None], party_policy: str | Callable[[], str]
) -> ScreeningResult:
    """Restricted parties and embargoed countries from the cached lists. `party_policy` may be a
    callable: it is asked only when a restricted party is found (nearly every order does not need
    the channel's policy)."""
    names = {normalize_party_name(customer.name)} | {
        normalize_party_name(a.get("name", "")) for a in addresses if a and a.get("name")
    }
    names.discard("")
    countries = {a["country"] for a in addresses if a and a.get("country")}
    lists = screening_lists()
    parties = {listed for name in names for listed in lists.parties.get(name, ())}
    embargoed = [(country, lists.embargoes[country]) for country in countries if country in lists.embargoes]
    result = ScreeningResult()
    result.restricted_parties = sorted(parties)
    if result.restricted_parties:
        policy = party_policy() if callable(party_policy) else party_policy
        result.reject = policy == CompliancePolicy.REJECT
    result.embargoed_countries = sorted(c for c, _ in embargoed)
    result.reject = result.reject or any(p == CompliancePolicy.REJECT for _, p in embargoed)
    return result


def screen_order(order: SalesOrder, party_policy: str) -> ScreeningResult:
    """Screen a stored order again (its customer and address snapshots)."""
    lines = list(order.lines.exclude(ship_to=None).values_list("ship_to", flat=True))
    return _screen(order.customer, [order.bill_to, order.ship_to, *lines], party_policy)


def _credit_check(customer: Customer, total: Decimal, currency: str, plan: _Plan) -> None:
    """Exposure plus this order over the limit, in the credit currency (dated rate) -> credit hold."""
    position = credit_position_of(customer)
    today = timezone.localdate()
    plan.credit_currency = position.currency
    try:
        fx = exchange_rate_on(base=currency, quote=position.currency, on=today)
    except NotFound:
        plan.credit_amount = Decimal(0)
        plan.holds.append(
            (
                CREDIT_HOLD,
                f"No exchange rate from {currency} to {position.currency} on {today}: "
                "credit cannot be checked.",
                {"order_total": str(total), "order_currency": currency, "credit_currency": position.currency},
            )
        )
        return
    converted = convert(total, fx.rate, position.currency)
    plan.credit_amount = converted
    if customer.kind != CustomerKind.B2B or customer.payment_terms == PaymentTerms.PREPAID:
        return  # prepaid business is not extended credit
    details = {
        "order_total": str(total),
        "order_currency": currency,
        "rate": str(fx.rate),
        "rate_date": fx.valid_on.isoformat(),
        "order_total_converted": str(converted),
        "credit_currency": position.currency,
        "exposure": str(position.exposure),
        "credit_limit": str(position.credit_limit),
    }
    if customer.status == CustomerStatus.ON_HOLD:
        plan.holds.append((CREDIT_HOLD, "The customer account is on credit hold.", details))
    elif position.exposure + converted > position.credit_limit:
        plan.holds.append(
            (
                CREDIT_HOLD,
                f"Credit limit exceeded: exposure {position.exposure} {position.currency} + this order "
                f"{converted} {position.currency} ({total} {currency} at {fx.rate} on {fx.valid_on}) "
                f"> limit {position.credit_limit} {position.currency}.",
                details,
            )
        )


def _approvals(
    *,
    channel: Channel,
    customer: Customer,
    customer_created: bool,
    total: Decimal,
    currency: str,
    priced: PriceResult,
) -> list[str]:
    reasons = list(priced.approval_reasons) if priced.needs_approval else []
    for rule in approval_rules():
        if rule.channel_id not in (None, channel.pk):
            continue
        if rule.kind == ApprovalRuleKind.TOTAL_OVER:
            try:
                fx = exchange_rate_on(base=currency, quote=rule.threshold_currency, on=timezone.localdate())
            except NotFound:
                reasons.append(f"{rule.name}: no exchange rate {currency}->{rule.threshold_currency}.")
                continue
            converted = convert(total, fx.rate, rule.threshold_currency)
            if converted > rule.threshold:
                reasons.append(
                    f"{rule.name}: total {converted} {rule.threshold_currency} over {rule.threshold}."
                )
        elif rule.kind == ApprovalRuleKind.NEW_CUSTOMER:
            is_new = customer_created or not SalesOrder.objects.filter(customer=customer).exists()
            if is_new:
                reasons.append(f"{rule.name}: first order of a new customer.")
    return reasons


# --- the pipeline --------------------------------------------------------------------------------


@dataclass
class SubmitResult:
    order: SalesOrder
    revised_from: SalesOrder | None = None


def order_submit(
    *,
    channel: Channel,
    actor: Actor,
    data: OrderInput,
    before_commit: Callable[[SubmitResult], None] | None = None,
) -> SubmitResult:
    """Capture (or revise) an order. Raises a DomainError (nothing written) when it is refused.

    `before_commit` runs last, inside the order's transaction: the API stores its idempotent
    answer there, so the order and the answer a retry replays commit together or not at all."""
    # One read of the reference-data versions per capture, also outside a request (file import).
    # A deadlock or serialization failure rolled the whole capture back: run it again, a few times.
    # So is a lost race on the source order (see _lost_source_order_race): the next run reads the
    # winner's revision and answers as if the two had come one after the other.
    with refcache.scope():
        try:
            return dbretry.run(
                lambda: _submit(channel=channel, actor=actor, data=data, before_commit=before_commit),
                what="order capture",
                retry_if=_lost_source_order_race,
            )
        except IntegrityError as exc:
            if not _lost_source_order_race(exc):
                raise
            raise _stale(channel.pk, data) from exc


# The constraints two writers of one source order collide on. On PostgreSQL a revision waits for
# the row lock on the current revision; when the other writer commits, the row it waited for is no
# longer current and the lookup returns nothing, so the waiter would insert as a new order and hit
# one of these (two first submissions meet here directly). Nothing was written: run it again.
SOURCE_ORDER_CONSTRAINTS = frozenset({"salesorder_one_current_revision", "salesorder_source_revision_unique"})


def _lost_source_order_race(exc: Exception) -> bool:
    return isinstance(exc, IntegrityError) and dbretry.constraint_name(exc) in SOURCE_ORDER_CONSTRAINTS


def _stale(channel_id: int, data: OrderInput, current: SalesOrder | None = None) -> StaleRevision:
    """409 `stale_revision` naming the order and its current revision."""
    if current is None:
        current = SalesOrder.objects.filter(
            channel_id=channel_id, source_order_id=data.source_order_id, is_current=True
        ).first()
    if current is None:  # pragma: no cover - the writer that won was rolled back after all
        return StaleRevision(
            "Another submission of this order was being saved at the same time; send it again."
        )
    return StaleRevision(
        f"Order {current.number} is at revision {current.revision}: revision {data.revision} is not newer.",
        fields={"revision": [f"Send a revision above {current.revision} (order {current.number})."]},
        number=current.number,
        current_revision=current.revision,
    )


@functools.cache
def _current_revision_sql(vendor: str) -> str:
    quote, meta = connection.ops.quote_name, SalesOrder._meta
    names = ("channel", "source_order_id", "is_current")
    column = {name: quote(meta.get_field(name).column) for name in names}
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    return (
        f"SELECT {quote(meta.pk.column)} FROM {quote(meta.db_table)} WHERE {column['channel']} = %s "  # noqa: S608
        f"AND {column['source_order_id']} = %s AND {column['is_current']} = %s{lock}"
    )


def _current_revision_locked(channel_id: int, source_order_id: str) -> SalesOrder | None:
    """The current revision of the channel's order, locked, or None (the usual case: a new order).

    The lookup is SQL from the model's names: it runs on every capture and, as an ORM query
    over the order's thirty columns, it cost about a millisecond in compilation for a row that
    is nearly never there; the order is loaded only when it exists (a revision).
    """
    with connection.cursor() as cursor:
        cursor.execute(_current_revision_sql(connection.vendor), [channel_id, source_order_id, True])
        row = cursor.fetchone()
    return None if row is None else SalesOrder.objects.get(pk=row[0])


@transaction.atomic
def _submit(
    *,
    channel: Channel,
    actor: Actor,
    data: OrderInput,
    before_commit: Callable[[SubmitResult], None] | None,
) -> SubmitResult:
    if not channel.active:
        raise ValidationFailed("The channel is not active.")
    if data.revision < 1:
        raise ValidationFailed("The revision must be 1 or more.", fields={"revision": ["Must be >= 1."]})
    current = _current_revision_locked(channel.pk, data.source_order_id)
    if current is not None and data.revision <= current.revision:
        raise _stale(channel.pk, data, current)

    def policy() -> ChannelOrderPolicy:
        return channel_order_policy(channel)

    products, factors = _lines_validate(data.lines, actor, channel)
    customer, customer_created = _customer_resolve(channel, data)
    errors: dict[str, list[str]] = {}
    if customer.status == CustomerStatus.INACTIVE:
        errors["customer"] = ["The customer account is not active."]
    try:
        currency = validate_currency(data.currency or channel.default_currency)
    except ValidationFailed:
        errors["currency"] = [f"Unknown currency '{data.currency}'."]
        currency = ""
    bill_in, ship_in, sites = _default_addresses(customer, data)
    errors.update(_address_errors(bill_in, "bill_to"))
    errors.update(_address_errors(ship_in, "ship_to"))
    for i, line in enumerate(data.lines):
        if line.ship_to is not None:
            errors.update(_address_errors(line.ship_to, f"lines[{i}].ship_to"))
    if errors:
        raise ValidationFailed("The order is not valid.", fields=errors)
    bill_to, ship_to = _normalized(bill_in), _normalized(ship_in)
    defaults = _defaults_apply(channel, ship_to["country"], data)
    ship_method = data.ship_method or defaults.get(DefaultableField.SHIP_METHOD, "")
    try:
        priority = (
            data.priority if data.priority is not None else int(defaults.get(DefaultableField.PRIORITY, 5))
        )
    except ValueError:
        priority = 5
    demand_class = data.demand_class or defaults.get(DefaultableField.DEMAND_CLASS) or customer.demand_class
    if demand_class not in DemandClass.values:
        raise ValidationFailed(
            "Unknown demand class.", fields={"demand_class": [f"One of {DemandClass.values}."]}
        )

    priced = _price(
        channel=channel,
        customer=customer,
        sites=sites,
        data=data,
        currency=currency,
        ship_to=ship_to,
        ship_method=ship_method,
    )
    totals = priced.totals
    line_ship_tos = [_normalized(line.ship_to) for line in data.lines]

    plan = _Plan()
    screening = _screen(
        customer, [bill_to, ship_to, *line_ship_tos], lambda: policy().restricted_party_policy
    )
    if screening.reject:
        raise ComplianceRejected(f"Refused by trade-compliance policy: {screening.reason()}.")
    if screening.hit:
        plan.holds.append(
            (
                COMPLIANCE_HOLD,
                f"Trade-compliance screening: {screening.reason()}.",
                {
                    "restricted_parties": screening.restricted_parties,
                    "embargoed": screening.embargoed_countries,
                },
            )
        )
    _credit_check(customer, totals.total, currency, plan)
    plan.approval_reasons = _approvals(
        channel=channel,
        customer=customer,
        customer_created=customer_created,
        total=totals.total,
        currency=currency,
        priced=priced,
    )
    plan.status = OrderStatus.PENDING_APPROVAL if plan.approval_reasons else OrderStatus.OPEN
    ensure_order_transition(OrderStatus.DRAFT, plan.status)

    shipped: dict[str, tuple[Decimal, Decimal]] = {}
    if current is not None:
        shipped = revision_check(current, data)
        release_stock_for(current)
        current_status = current.status
        if current_status in OPEN_FOR_CREDIT and current.credit_amount:
            credit_exposure_adjust(customer_id=current.customer_id, open_orders_delta=-current.credit_amount)
        SalesOrder.objects.filter(pk=current.pk).update(
            is_current=False, superseded_at=timezone.now(), version=current.version + 1
        )

    # Read before the writes so that lines are born at the first-ranked warehouse (where the
    # reservation nearly always lands) instead of being updated afterwards.
    warehouse_ids = channel_warehouse_ids(channel_id=channel.pk) if channel.reserve_at_capture else []
    order = SalesOrder(
        number=current.number if current else order_number_next(),
        channel=channel,
        source_order_id=data.source_order_id,
        revision=data.revision,
        customer_po=data.customer_po,
        status=plan.status,
        customer=customer,
        bill_to=bill_to,
        ship_to=ship_to,
        currency=currency,
        payment_terms=customer.payment_terms,
        ship_method=ship_method,
        requested_delivery_date=data.requested_delivery_date,
        demand_class=demand_class,
        sales_rep=customer.sales_rep,
        priority=priority,
        notes=data.notes or defaults.get(DefaultableField.NOTES, ""),
        subtotal=totals.list_amount,
        discount_total=totals.line_discount + totals.order_discount,
        shipping_total=totals.shipping,
        tax_total=totals.tax,
        total=totals.total,
        credit_amount=plan.credit_amount,
        credit_currency=plan.credit_currency,
        approval_reasons=plan.approval_reasons,
        correlation_id=get_correlation_id(),
        created_by=actor.user,
    )
    fastinsert.insert([order])
    line_status = (
        LineStatus.PENDING_APPROVAL if plan.status == OrderStatus.PENDING_APPROVAL else LineStatus.OPEN
    )
    lines = [
        OrderLine(
            order=order,
            line_number=i + 1,
            source_line_id=given.source_line_id,
            product=products[given.sku.strip().upper()],
            quantity=given.quantity,
            uom=lp.uom,
            ship_to=line_ship_tos[i],
            requested_ship_date=given.requested_ship_date,
            ship_method=given.ship_method or ship_method,
            unit_list_price=round_money(lp.list_amount / lp.quantity, currency)
            if lp.quantity
            else Decimal(0),
            unit_net_price=round_money(lp.net / lp.quantity, currency) if lp.quantity else Decimal(0),
            price_breakdown=_breakdown(lp),
            price_source="source" if lp.source_price else "engine",
            line_total=lp.total,
            status=line_status,
            warehouse_id=warehouse_ids[0] if warehouse_ids else None,
            shipped_quantity=shipped.get(given.source_line_id, (Decimal(0), Decimal(0)))[0],
            billed_quantity=shipped.get(given.source_line_id, (Decimal(0), Decimal(0)))[1],
        )
        for i, (given, lp) in enumerate(zip(data.lines, priced.lines, strict=True))
    ]
    fastinsert.insert(lines)

    new_events: list[OrderEvent] = [
        event_build(
            order,
            actor,
            EventKind.SUBMITTED if current is None else EventKind.REVISED,
            after={"status": order.status, "total": str(order.total), "currency": currency},
            data={"revision": order.revision, "lines": len(lines)},
        )
    ]
    for line, lp in zip(lines, priced.lines, strict=True):
        if lp.source_price or lp.manual_reason_code:
            new_events.append(
                event_build(
                    order,
                    actor,
                    EventKind.PRICE_OVERRIDE,
                    line=line,
                    after={"unit_net_price": str(line.unit_net_price), "source": line.price_source},
                    reason=lp.manual_reason_code or "source price from a trusted channel",
                )
            )
    if plan.approval_reasons:
        new_events.append(
            event_build(
                order,
                actor,
                EventKind.APPROVAL_REQUESTED,
                after={"status": order.status},
                reason="; ".join(plan.approval_reasons),
            )
        )
    holds = [
        OrderHold(
            order=order,
            hold_code=system_hold_code(code),
            reason=reason,
            details=as_stored(details),
            applied_by="system",
        )
        for code, reason, details in plan.holds
    ]
    if holds:
        OrderHold.objects.bulk_create(holds)
        for hold in holds:
            new_events.append(
                event_build(
                    order,
                    Actor.system(),
                    EventKind.HOLD_APPLIED,
                    after={"hold": hold.hold_code.code},
                    reason=hold.reason,
                    data=hold.details,
                )
            )

    backordered = []
    if channel.reserve_at_capture:
        backordered = _reserve(order, lines, factors, policy, warehouse_ids)
        for line in backordered:
            new_events.append(
                event_build(
                    order,
                    Actor.system(),
                    EventKind.BACKORDERED,
                    line=line,
                    after={"status": LineStatus.BACKORDERED, "quantity": str(line.quantity)},
                    reason="Not enough stock at the channel's warehouses.",
                )
            )
    diff = lines_diff(current, lines) if current is not None else None
    if current is not None:
        new_events.append(
            event_build(
                current,
                actor,
                EventKind.SUPERSEDED,
                before={"is_current": True},
                after={"is_current": False, "superseded_by_revision": order.revision},
            )
        )
    fastinsert.insert(new_events)

    for code in data.coupons:
        applied = next((c for c in priced.coupons if c.code == code and c.applied), None)
        if applied is not None:
            coupon_redeem(code=code, order_ref=f"{order.number}", customer_id=customer.pk)

    payload = _payload(order, holds)
    if current is None:
        events.publish("order.submitted", payload, aggregate=("order", order.number))
    else:
        events.publish("order.revised", {**payload, "diff": diff}, aggregate=("order", order.number))
    if plan.credit_amount:
        credit_exposure_adjust(customer_id=customer.pk, open_orders_delta=plan.credit_amount)
    order._prefetched_objects_cache = {"lines": lines, "holds": holds}  # the response needs no re-read
    result = SubmitResult(order=order, revised_from=current)
    if before_commit is not None:
        before_commit(result)
    return result


def _breakdown(lp) -> dict[str, Any]:
    return as_stored(
        {
            "price_list": lp.price_list,
            "list_amount": str(lp.list_amount),
            "line_discount": str(lp.line_discount),
            "order_discount": str(lp.order_discount),
            "net": str(lp.net),
            "shipping": str(lp.shipping),
            "tax_rate": str(lp.tax_rate),
            "tax": str(lp.tax),
            "total": str(lp.total),
            "components": [
                {"kind": c.kind, "amount": str(c.amount), "label": c.label, "rule": c.rule}
                for c in lp.components
            ],
            "source_price": lp.source_price,
        }
    )


def _payload(order: SalesOrder, holds: list[OrderHold]) -> dict[str, Any]:
    return {
        "order_id": order.pk,
        "number": order.number,
        "revision": order.revision,
        "channel": order.channel.code,
        "source_order_id": order.source_order_id,
        "customer_id": order.customer_id,
        "status": order.status,
        "currency": order.currency,
        "total": str(order.total),
        "holds": [h.hold_code.code for h in holds],
    }


def _reserve(
    order: SalesOrder,
    lines: list[OrderLine],
    factors: dict[tuple[int, str], Decimal],
    policy: Callable[[], ChannelOrderPolicy],
    warehouse_ids: list[int],
) -> list[OrderLine]:
    """Reserve over the channel's ranked warehouses; short lines are back-ordered or the order is
    refused, per channel policy. Returns the back-ordered lines. The lines were written with the
    first-ranked warehouse; they are updated only when another one serves, or for back-orders."""
    if not warehouse_ids:
        raise InsufficientStock("The channel has no warehouse to reserve from.")
    requests = [
        ReserveLine(
            product_id=line.product_id,
            warehouse_id=warehouse_ids[0],
            quantity=line.quantity * factors[(line.product_id, line.uom)],
            demand_type=DEMAND_TYPE,
            demand_id=str(line.pk),
            demand_class=order.demand_class,
            need_date=line.requested_ship_date or order.requested_delivery_date,
        )
        for line in lines
    ]
    try:
        warehouse_id, _ = stock_reserve_ranked(lines=requests, warehouse_ids=warehouse_ids)
        if warehouse_id != warehouse_ids[0]:
            OrderLine.objects.filter(order=order).update(warehouse_id=warehouse_id)
            for line in lines:
                line.warehouse_id = warehouse_id
        return []
    except InsufficientStock:
        if policy().shortage_policy == ShortagePolicy.REJECT:
            raise
    # Back-order policy: take what the first ranked warehouse has, back-order the rest.
    result = stock_reserve(lines=requests, allow_partial=True)
    short = {s.index for s in result.shortfalls}
    short_lines = [lines[i] for i in sorted(short)]
    if short_lines:
        OrderLine.objects.filter(pk__in=[line.pk for line in short_lines]).update(
            status=LineStatus.BACKORDERED, backordered_quantity=F("quantity"), warehouse_id=None
        )
    for i in sorted(short):
        req = requests[i]
        backorder_create(
            demand_type=DEMAND_TYPE,
            demand_id=req.demand_id,
            product_id=req.product_id,
            quantity=req.quantity,
            warehouse_id=None,
            demand_class=req.demand_class,
            need_date=req.need_date,
        )
        lines[i].status = LineStatus.BACKORDERED
        lines[i].backordered_quantity = lines[i].quantity
        lines[i].warehouse_id = None
    return short_lines
