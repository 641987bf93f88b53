"""`manage.py seed_demo`: believable, deterministic demo data, safe to run again.

Reporting is the top layer, so this command may use every app. Rows are keyed on natural keys
(get_or_create / bulk_create(ignore_conflicts=True)), so a second run creates nothing; stock is
received only into positions this run created, so the movement ledger never doubles.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from catalog.models import (
    Brand,
    Category,
    Product,
    ProductType,
    Supplier,
    TaxClass,
    UnitOfMeasure,
    UomConversion,
)
from customers.models import (
    Contact,
    ContactRole,
    CreditExposure,
    Customer,
    CustomerKind,
    CustomerSite,
    CustomerStatus,
    DemandClass,
    PaymentTerms,
    SitePurpose,
)
from inventory.models import ChannelWarehouse, ReorderRule, Warehouse, WarehouseType
from inventory.selectors import CHANNEL_RANKINGS, positions_missing
from inventory.services import ReceiptLine, stock_receive_bulk
from oms.kernel import refcache
from oms.kernel.money import round_money
from oms.kernel.roles import Role, role_sync
from partners.models import Channel, ChannelType, Partner, PartnerType
from partners.services import channel_key_issue, partner_credential_issue
from pricing.models import (
    AdjustmentReason,
    ApplyOn,
    AssignmentLevel,
    BlockRounding,
    ChargeType,
    Combination,
    Coupon,
    DiscountRule,
    ExchangeRate,
    PriceList,
    PriceListItem,
    PriceListStatus,
    PriceTier,
    PricingPolicy,
    PricingSegment,
    PricingStrategy,
    RecurringPeriod,
    RuleAction,
    RuleLevel,
    SegmentMembership,
    ShippingRule,
    StrategyAssignment,
    StrategyPriceList,
    TaxRule,
    TierMode,
)
from pricing.snapshot import ruleset_version_bump

SEED = 2026
DEFAULT_PASSWORD = "oms-demo-2026"  # noqa: S105 - a documented demo login, overridable by env

CHANNELS = [
    # code, type, name, reserve_at_capture, trusted_prices, currency
    ("web", ChannelType.WEB, "Web storefront", True, False, "USD"),
    ("pos", ChannelType.POS, "Stores (POS)", True, False, "USD"),
    ("call_center", ChannelType.CALL_CENTER, "Call center", True, False, "USD"),
    # Field reps quote and book ahead; stock is reserved when the order is scheduled.
    ("field_sales", ChannelType.FIELD_SALES, "Field sales", False, False, "USD"),
    ("marketplace", ChannelType.MARKETPLACE, "Marketplace", True, True, "USD"),
    ("import", ChannelType.IMPORT, "Legacy file import", False, True, "USD"),
]

PARTNERS = [
    ("meadowlands-3pl", "Meadowlands Logistics (3PL)", PartnerType.THIRD_PARTY_LOGISTICS, "us-east-nj"),
    ("rotterdam-wms", "Rotterdam DC warehouse system", PartnerType.WAREHOUSE, "eu-rotterdam"),
    ("northwind-supply", "Northwind Industrial Supply", PartnerType.SUPPLIER, "northwind"),
]

# Every channel is served from these warehouses, in this order (nearest to most customers first).
CHANNEL_WAREHOUSES = ["us-east-nj", "us-west-ca", "eu-rotterdam", "apac-singapore"]
DEMO_ORDERS = 24

WAREHOUSES = [
    ("us-east-nj", "US-East (Edison, NJ)", "US", "NJ", "08837", "40.518700", "-74.412100"),
    ("us-west-ca", "US-West (Ontario, CA)", "US", "CA", "91761", "34.063300", "-117.650900"),
    ("eu-rotterdam", "EU (Rotterdam)", "NL", "Zuid-Holland", "3011", "51.924400", "4.477700"),
    ("apac-singapore", "APAC (Singapore)", "SG", "Singapore", "018956", "1.352100", "103.819800"),
]

# (code, name, decimals a quantity may have: counted units 0, measured ones 3)
UNITS = [("EA", "Each", 0), ("BOX", "Box", 0), ("CS", "Case", 0), ("KG", "Kilogram", 3)]
# 1 from = factor to, for every product unless it declares its own.
GENERIC_CONVERSIONS = [("BOX", "EA", 12), ("CS", "EA", 48), ("CS", "BOX", 4)]
TAX_CLASSES = [("standard", "Standard rate"), ("reduced", "Reduced rate"), ("exempt", "Exempt")]

SUPPLIERS = [
    ("northwind", "Northwind Industrial Supply", "US"),
    ("hansa-werkzeug", "Hansa Werkzeug GmbH", "DE"),
    ("kanto-seiki", "Kanto Seiki K.K.", "JP"),
    ("lionpoint", "Lionpoint Trading Pte Ltd", "SG"),
    ("maple-fasteners", "Maple Fasteners Inc.", "CA"),
]

BRANDS = [
    ("ironclad", "Ironclad"),
    ("voltmaster", "VoltMaster"),
    ("brightline", "Brightline"),
    ("aquaflow", "AquaFlow"),
    ("safeguard", "SafeGuard"),
    ("precisa", "Precisa"),
    ("tidy-pro", "TidyPro"),
    ("northwind", "Northwind"),
]

# category code, name, parent code, nouns, (min kg, max kg), product type
CATEGORIES: list[tuple[str, str, str | None, list[str], tuple[str, str], str]] = [
    ("tools", "Tools", None, [], ("0", "0"), ProductType.GOODS),
    ("hand-tools", "Hand tools", "tools", ["Hammer", "Screwdriver Set", "Pliers", "Wrench", "Utility Knife"],
     ("0.2", "1.5"), ProductType.GOODS),
    ("power-tools", "Power tools", "tools", ["Cordless Drill", "Angle Grinder", "Jigsaw", "Impact Driver"],
     ("1.2", "4.5"), ProductType.GOODS),
    ("electrical", "Electrical", None, ["Extension Cord", "Circuit Tester", "Wire Stripper", "Junction Box"],
     ("0.1", "2.0"), ProductType.GOODS),
    ("lighting", "Lighting", None, ["LED Work Light", "Headlamp", "Flashlight", "Floodlight"],
     ("0.1", "3.0"), ProductType.GOODS),
    ("plumbing", "Plumbing", None, ["Pipe Wrench", "PTFE Tape", "Ball Valve", "Pipe Cutter"],
     ("0.05", "2.5"), ProductType.GOODS),
    ("safety", "Safety & PPE", None, ["Nitrile Gloves", "Safety Glasses", "Ear Defenders", "Hard Hat",
     "Hi-Vis Vest"], ("0.05", "0.8"), ProductType.GOODS),
    ("fasteners", "Fasteners", None, ["Wood Screws", "Wall Anchors", "Hex Bolts", "Cable Ties"],
     ("0.1", "1.0"), ProductType.GOODS),
    ("cleaning", "Cleaning", None, ["Degreaser", "Shop Towels", "Microfiber Cloths", "Floor Cleaner"],
     ("0.2", "5.0"), ProductType.GOODS),
    ("services", "Services", None, ["Installation", "Extended Warranty", "Tool Calibration"],
     ("0", "0"), ProductType.SERVICE),
]  # fmt: skip
VARIANTS = ["Pro", "Compact", "Heavy Duty", "XL", "Mini", "Plus", "Classic", "Max", "Lite", "Ultra"]
PRODUCT_COUNT = 300

# country, currency, legal suffix, cities (city, region, postcode), phone prefix
MARKETS = [
    ("US", "USD", "Inc.", [("Chicago", "IL", "60607"), ("Austin", "TX", "78701"),
                           ("Newark", "NJ", "07102")], "+1"),
    ("CA", "CAD", "Ltd.", [("Toronto", "ON", "M5V 2T6"), ("Calgary", "AB", "T2P 1J9")], "+1"),
    ("GB", "GBP", "Ltd", [("Manchester", "", "M1 1AE"), ("Bristol", "", "BS1 4DJ")], "+44"),
    ("DE", "EUR", "GmbH", [("Hamburg", "HH", "20095"), ("Köln", "NW", "50667")], "+49"),
    ("NL", "EUR", "B.V.", [("Utrecht", "UT", "3511 AB"), ("Eindhoven", "NB", "5611 AZ")], "+31"),
    ("JP", "JPY", "K.K.", [("Osaka", "Osaka", "530-0001"), ("Yokohama", "Kanagawa", "220-0012")], "+81"),
    ("SG", "SGD", "Pte Ltd", [("Singapore", "", "068811")], "+65"),
    ("KW", "KWD", "W.L.L.", [("Kuwait City", "Al Asimah", "13001")], "+965"),
]  # fmt: skip
# Credit limits are sized in USD and scaled to each currency (rough, static demo rates).
DEMO_USD_RATES = {"USD": "1", "CAD": "1.35", "GBP": "0.79", "EUR": "0.92", "JPY": "150", "SGD": "1.34",
                  "KWD": "0.307"}  # fmt: skip
COMPANY_WORDS = ["Harbor", "Summit", "Keystone", "Pioneer", "Granite", "Beacon", "Evergreen", "Atlas",
                 "Riverside", "Cobalt", "Meridian", "Oakridge", "Sterling", "Vanguard",
                 "Bluewater"]  # fmt: skip
COMPANY_TRADES = ["Builders", "Facilities", "Hardware", "Contractors", "Maintenance", "Supply"]
FIRST_NAMES = ["Alex", "Maria", "Kenji", "Priya", "Lars", "Sofia", "Omar", "Chloe", "Daniel", "Aisha",
               "Tom", "Yuki", "Ben", "Fatima", "Noah", "Emma"]  # fmt: skip
LAST_NAMES = ["Smith", "Garcia", "Tanaka", "Patel", "Jansen", "Müller", "Al-Sabah", "Brown", "Lee",
              "Okafor", "Novak", "Wright"]  # fmt: skip
STREETS = ["Industrial Way", "Harbour Road", "Commerce Drive", "Station Street", "Market Lane", "Mill Road"]
B2B_CUSTOMERS = 60
CONSUMERS = 8

# --- pricing demo data ---
PRICING_REASONS = [("price-match", "Competitor price match"), ("damaged", "Damaged packaging"),
                   ("loyalty", "Loyalty gesture"), ("manager", "Manager discretion")]  # fmt: skip
PRICE_LISTS = [
    ("usd-list", "US dollar list", "USD"), ("eur-list", "Euro list", "EUR"),
    ("gbp-list", "Sterling list", "GBP"), ("jpy-list", "Yen list", "JPY"),
    ("contract-c10001", "Contract prices C-10001", "USD"),
]  # fmt: skip
PRICE_BANDS = {"hand-tools": (8, 60), "power-tools": (60, 400), "electrical": (5, 80), "lighting": (10, 150),
               "plumbing": (4, 90), "safety": (2, 40), "fasteners": (1, 20), "cleaning": (3, 35),
               "services": (25, 300)}  # fmt: skip
# Service nouns billed per period: (period, number of periods or None for until cancelled).
SERVICE_TERMS = {
    "Extended Warranty": (RecurringPeriod.YEAR, 3),
    "Tool Calibration": (RecurringPeriod.QUARTER, None),
}
SEGMENTS = [
    ("key-accounts", "Key accounts (assigned)", 10, {}),
    ("strategic", "Strategic accounts", 20, {"demand_class": DemandClass.STRATEGIC}),
    ("priority", "Priority accounts", 30, {"demand_class": DemandClass.PRIORITY}),
    ("consumers", "Storefront consumers", 40, {"customer_kind": CustomerKind.CONSUMER}),
]
STRATEGIES = [
    ("default", "Default pricing", ["usd-list", "eur-list", "gbp-list", "jpy-list"]),
    ("key-account", "Key account contract", ["contract-c10001"]),
    ("strategic", "Strategic accounts", []),
    ("priority", "Priority accounts", []),
    ("web", "Web storefront", []),
]
DISCOUNT_RULES = [
    {"code": "power-tools-10", "name": "Power tools 10% off", "action": RuleAction.PERCENT_OFF,
     "value": Decimal("10"), "categories": ["power-tools"], "priority": 50},
    {"code": "fasteners-bulk-5", "name": "Fasteners: 5% off from 100 units", "action": RuleAction.PERCENT_OFF,
     "value": Decimal("5"), "categories": ["fasteners"], "min_quantity": Decimal("100"),
     "apply_on": ApplyOn.LIST},
    {"code": "gloves-b10g1", "name": "Safety: buy 10 get 1 free", "action": RuleAction.BUY_X_GET_Y,
     "value": Decimal("100"), "buy_quantity": 10, "get_quantity": 1, "categories": ["safety"]},
    {"code": "lighting-best-pct", "name": "Lighting 12% off (best price)", "action": RuleAction.PERCENT_OFF,
     "value": Decimal("12"), "categories": ["lighting"], "combination": Combination.BEST_PRICE},
    {"code": "lighting-best-amt", "name": "Lighting 5 USD off (best price)", "action": RuleAction.AMOUNT_OFF,
     "value": Decimal("5"), "currency": "USD", "categories": ["lighting"],
     "combination": Combination.BEST_PRICE},
    {"code": "strategic-8", "name": "Strategic accounts 8% off", "action": RuleAction.PERCENT_OFF,
     "value": Decimal("8"), "strategy": "strategic", "priority": 10},
    {"code": "priority-4", "name": "Priority accounts 4% off", "action": RuleAction.PERCENT_OFF,
     "value": Decimal("4"), "strategy": "priority", "priority": 10},
    {"code": "order-over-1000", "name": "2% off orders over 1,000 USD", "level": RuleLevel.ORDER,
     "action": RuleAction.PERCENT_OFF, "value": Decimal("2"), "currency": "USD",
     "min_order_amount": Decimal("1000")},
    {"code": "spring-coupon", "name": "Spring coupon 15% off", "action": RuleAction.PERCENT_OFF,
     "value": Decimal("15"), "combination": Combination.EXCLUSIVE, "priority": 1},
]  # fmt: skip
# country, region, standard %, reduced % (exempt is 0)
TAX_RATES = [
    ("US", "IL", "6.25", "6.25"), ("US", "TX", "6.25", "6.25"), ("US", "NJ", "6.625", "6.625"),
    ("US", "CA", "7.25", "7.25"), ("US", "", "0", "0"),
    ("CA", "ON", "13", "13"), ("CA", "AB", "5", "5"), ("GB", "", "20", "5"), ("DE", "", "19", "7"),
    ("NL", "", "21", "9"), ("JP", "", "10", "8"), ("SG", "", "9", "9"), ("KW", "", "0", "0"),
]  # fmt: skip
# name, method, country ("" = anywhere), currency, flat, per kg, free over
SHIPPING = [
    ("US ground", "ground", "US", "USD", "7.95", "0.50", "500"),
    ("US express", "express", "US", "USD", "19.95", "1.20", None),
    ("EU ground", "ground", "DE", "EUR", "6.90", "0.40", "400"),
    ("NL ground", "ground", "NL", "EUR", "6.90", "0.40", "400"),
    ("International", "intl", "", "USD", "35.00", "4.00", None),
]  # fmt: skip

STAFF_USERNAMES = {
    Role.ORDER_DESK: "orderdesk",
    Role.FULFILLMENT: "fulfillment",
    Role.PRICING_ADMIN: "pricing",
    Role.FINANCE: "finance",
    Role.APPROVER: "approver",
    Role.ADMIN: "opsadmin",
}


@dataclass
class Tally:
    created: int = 0
    total: int = 0


class Command(BaseCommand):
    help = (
        "Create deterministic demo data (channels with API keys, catalog, customers, stock, pricing, "
        "warehouse rankings, reorder rules, users and a few orders)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=os.environ.get("OMS_DEMO_PASSWORD", DEFAULT_PASSWORD),
            help="Password for the demo users (default: $OMS_DEMO_PASSWORD or oms-demo-2026).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.rng = random.Random(SEED)
        self.password = options["password"]
        with transaction.atomic():
            self._channels()
            self._partners()
            self._users()
            warehouses = self._warehouses()
            products = self._catalog()
            self._customers()
            self._stock(products, warehouses)
            self._fulfillment()
            self._pricing(products)
            self._sourcing(products, warehouses)
            self._orders(products)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

    def _fulfillment(self) -> None:
        """The three standard orchestration processes and their assignment rules (idempotent)."""
        from fulfillment.seeding import processes_seed

        made = processes_seed()
        self.stdout.write(f"  {'fulfillment processes':<22} {', '.join(str(d) for d in made.values())}")

    # --- helpers -----------------------------------------------------------------------------

    def _progress(self, label: str, done: int, total: int, created: int) -> None:
        self.stdout.write(f"  {label:<22} {done}/{total}  ({created} new)")

    def _secret(self, owner: str, raw_key: str) -> None:
        self.stdout.write(self.style.WARNING(f"    {owner}: {raw_key}"))

    # --- partners ----------------------------------------------------------------------------

    def _channels(self) -> None:
        self.stdout.write("Channels and API keys (a new key is shown once; copy it now):")
        for code, type_, name, reserve, trusted, currency in CHANNELS:
            channel, _ = Channel.objects.get_or_create(
                code=code,
                defaults={
                    "type": type_,
                    "name": name,
                    "reserve_at_capture": reserve,
                    "trusted_prices": trusted,
                    "default_currency": currency,
                },
            )
            active = channel.api_keys.filter(revoked_at__isnull=True).count()
            if active:
                self.stdout.write(
                    f"    {code}: {active} active key(s) exist (raw keys are never stored); to get "
                    "another, use the admin action 'Issue a new API key' on Partners > Channels."
                )
            else:
                self._secret(code, channel_key_issue(channel=channel, name="seed_demo").raw_key)

    def _partners(self) -> None:
        self.stdout.write("Partners and credentials:")
        for code, name, type_, ref in PARTNERS:
            partner, _ = Partner.objects.get_or_create(
                code=code, defaults={"name": name, "type": type_, "external_ref": ref}
            )
            if partner.credentials.filter(revoked_at__isnull=True).exists():
                self.stdout.write(f"    {code}: credential exists (admin action 'Issue a new credential')")
            else:
                self._secret(code, partner_credential_issue(partner=partner, name="seed_demo").raw_key)

    def _users(self) -> None:
        role_sync()
        User = get_user_model()
        self.stdout.write("Staff users (one per role):")
        for role, username in STAFF_USERNAMES.items():
            user, created = User.objects.get_or_create(
                username=username, defaults={"is_staff": True, "email": f"{username}@oms.example"}
            )
            if created:
                user.set_password(self.password)
                user.save(update_fields=["password"])
            user.groups.add(Group.objects.get(name=Role(role).label))
            note = f"password {self.password}" if created else "existing user, password unchanged"
            self.stdout.write(f"    {username:<12} {Role(role).label:<14} {note}")
        admin, created = User.objects.get_or_create(
            username="admin",
            defaults={"is_staff": True, "is_superuser": True, "email": "admin@oms.example"},
        )
        if created:
            admin.set_password(self.password)
            admin.save(update_fields=["password"])
        note = "" if created else " (existing user: password as first seeded unless changed)"
        self.stdout.write(self.style.SUCCESS(f"Admin login: admin / {self.password}{note}  at /admin/"))

    # --- reference data ----------------------------------------------------------------------

    def _warehouses(self) -> list[Warehouse]:
        tally = Tally()
        for code, name, country, region, postcode, lat, lon in WAREHOUSES:
            _, created = Warehouse.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "type": WarehouseType.DISTRIBUTION_CENTER,
                    "country": country,
                    "region": region,
                    "postcode": postcode,
                    "latitude": Decimal(lat),
                    "longitude": Decimal(lon),
                },
            )
            tally.created += created
        self._progress("warehouses", len(WAREHOUSES), len(WAREHOUSES), tally.created)
        return list(Warehouse.objects.filter(code__in=[w[0] for w in WAREHOUSES]).order_by("code"))

    def _catalog(self) -> list[Product]:
        rng = self.rng
        units = {}
        for code, name, places in UNITS:
            units[code], _ = UnitOfMeasure.objects.get_or_create(
                code=code, defaults={"name": name, "decimal_places": places}
            )
        for src, dst, factor in GENERIC_CONVERSIONS:
            UomConversion.objects.get_or_create(
                product=None, from_uom=units[src], to_uom=units[dst], defaults={"factor": Decimal(factor)}
            )
        tax = {}
        for code, name in TAX_CLASSES:
            tax[code], _ = TaxClass.objects.get_or_create(code=code, defaults={"name": name})
        suppliers = []
        for code, name, country in SUPPLIERS:
            supplier, _ = Supplier.objects.get_or_create(
                code=code, defaults={"name": name, "country": country}
            )
            suppliers.append(supplier)
        brands = []
        for code, name in BRANDS:
            brand, _ = Brand.objects.get_or_create(code=code, defaults={"name": name})
            brands.append(brand)
        categories: dict[str, Category] = {}
        for code, name, parent, *_ in CATEGORIES:
            categories[code], _ = Category.objects.get_or_create(
                code=code, defaults={"name": name, "parent": categories.get(parent) if parent else None}
            )

        # Products: generated in full every run (same seed, same rows), inserted only if missing.
        leaf = [c for c in CATEGORIES if c[3]]
        rows: list[Product] = []
        box_sizes: dict[str, int] = {}
        for n in range(PRODUCT_COUNT):
            code, _, _, nouns, (kg_min, kg_max), product_type = leaf[n % len(leaf)]
            brand = brands[rng.randrange(len(brands))]
            noun = rng.choice(nouns)
            variant = rng.choice(VARIANTS)
            sku = f"{brand.code[:3].upper()}-{code[:3].upper()}-{1000 + n}"
            weight = Decimal(rng.uniform(float(kg_min), float(kg_max))).quantize(Decimal("0.001"))
            is_service = product_type == ProductType.SERVICE
            if code in ("safety", "fasteners") and not is_service:
                box_sizes[sku] = rng.choice([10, 25, 50, 100])  # sold by the box, counted in each
            rows.append(
                Product(
                    sku=sku,
                    name=f"{brand.name} {noun} {variant}",
                    brand=brand,
                    category=categories[code],
                    uom=units["EA"],
                    product_type=product_type,
                    tax_class=tax[
                        "exempt" if is_service else ("reduced" if code == "safety" else "standard")
                    ],
                    primary_supplier=None if is_service else suppliers[rng.randrange(len(suppliers))],
                    weight_kg=weight,
                    lot_controlled=code in ("cleaning", "safety") and rng.random() < 0.4,
                )
            )
        before = Product.objects.count()
        Product.objects.bulk_create(rows, ignore_conflicts=True, batch_size=200)
        products = list(Product.objects.filter(sku__in=[p.sku for p in rows]).order_by("sku"))
        self._progress("products", len(products), PRODUCT_COUNT, Product.objects.count() - before)

        by_sku = {p.sku: p for p in products}
        before = UomConversion.objects.count()
        UomConversion.objects.bulk_create(
            [
                UomConversion(product=by_sku[sku], from_uom=units["BOX"], to_uom=units["EA"], factor=size)
                for sku, size in box_sizes.items()
            ],
            ignore_conflicts=True,
        )
        created = UomConversion.objects.count() - before
        self._progress("product conversions", len(box_sizes), len(box_sizes), created)
        return products

    def _customers(self) -> None:
        rng = self.rng
        User = get_user_model()
        reps = list(User.objects.filter(username__in=["orderdesk", "approver"]).order_by("username"))
        customers: list[Customer] = []
        sites: dict[str, list[CustomerSite]] = {}
        contacts: dict[str, list[Contact]] = {}
        for n in range(B2B_CUSTOMERS):
            country, currency, suffix, cities, phone = MARKETS[n % len(MARKETS)]
            name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_TRADES)} {suffix}"
            account = f"C-{10001 + n}"
            usd_limit = Decimal(rng.choice([5_000, 10_000, 25_000, 50_000, 100_000, 250_000]))
            demand = rng.choices(
                [DemandClass.STANDARD, DemandClass.PRIORITY, DemandClass.STRATEGIC], weights=[6, 3, 1]
            )[0]
            domain = f"{name.split()[0].lower()}{n}.example"
            customers.append(
                Customer(
                    kind=CustomerKind.B2B,
                    account_number=account,
                    name=name,
                    email=f"ap@{domain}",
                    status=rng.choices([CustomerStatus.ACTIVE, CustomerStatus.ON_HOLD,
                                        CustomerStatus.INACTIVE], weights=[16, 2, 1])[0],
                    demand_class=demand,
                    credit_limit=round_money(usd_limit * Decimal(DEMO_USD_RATES[currency]), currency),
                    credit_currency=currency,
                    payment_terms=rng.choice([PaymentTerms.NET30, PaymentTerms.NET30, PaymentTerms.NET45,
                                              PaymentTerms.NET60, PaymentTerms.NET15]),
                    tax_exempt=rng.random() < 0.1,
                    sales_rep=reps[n % len(reps)] if reps else None,
                )
            )  # fmt: skip
            city, region, postcode = rng.choice(cities)
            street = f"{rng.randint(1, 400)} {rng.choice(STREETS)}"
            site_rows = [
                CustomerSite(name="Head office", purpose=SitePurpose.BILL_TO, is_primary=True, line1=street,
                             city=city, region=region, postcode=postcode, country=country),
            ]  # fmt: skip
            for i in range(rng.randint(1, 2)):
                city, region, postcode = rng.choice(cities)
                site_rows.append(
                    CustomerSite(name=f"Site {i + 1}", purpose=SitePurpose.SHIP_TO, is_primary=i == 0,
                                 line1=f"{rng.randint(1, 900)} {rng.choice(STREETS)}", city=city,
                                 region=region, postcode=postcode, country=country)
                )  # fmt: skip
            sites[account] = site_rows
            contacts[account] = [
                Contact(
                    name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                    email=f"{role.value.split('_')[0]}@{domain}",
                    phone=f"{phone} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                    role=role,
                )
                for role in rng.sample([ContactRole.PURCHASING, ContactRole.ACCOUNTS_PAYABLE,
                                        ContactRole.RECEIVING], k=rng.randint(1, 3))
            ]  # fmt: skip
        existing = set(
            Customer.objects.filter(account_number__in=[c.account_number for c in customers]).values_list(
                "account_number", flat=True
            )
        )
        new = [c for c in customers if c.account_number not in existing]
        Customer.objects.bulk_create(new, batch_size=200)
        new_ids = dict(
            Customer.objects.filter(account_number__in=[c.account_number for c in new]).values_list(
                "account_number", "id"
            )
        )
        # Sites and contacts only for accounts created now: they have no natural key of their own.
        site_rows = [s for acc, rows in sites.items() if acc in new_ids for s in rows]
        for acc in new_ids:
            for row in sites[acc] + contacts[acc]:
                row.customer_id = new_ids[acc]
        CustomerSite.objects.bulk_create(site_rows, batch_size=500)
        Contact.objects.bulk_create([c for acc in new_ids for c in contacts[acc]], batch_size=500)
        self._progress("business customers", len(customers), B2B_CUSTOMERS, len(new))

        consumers = []
        for n in range(CONSUMERS):
            country, currency, *_ = MARKETS[n % len(MARKETS)]
            first, last = FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[n % len(LAST_NAMES)]
            consumers.append(
                Customer(
                    kind=CustomerKind.CONSUMER,
                    name=f"{first} {last}",
                    email=f"{first.lower()}.{n}@mail.example",
                    credit_currency=currency,
                    payment_terms=PaymentTerms.PREPAID,
                )
            )
        before = Customer.objects.filter(kind=CustomerKind.CONSUMER).count()
        # Unique on lower(email) for consumers: a re-run's rows are ignored by the database.
        Customer.objects.bulk_create(consumers, ignore_conflicts=True)
        after = Customer.objects.filter(kind=CustomerKind.CONSUMER).count()
        self._progress("consumers", CONSUMERS, CONSUMERS, after - before)

        # Every account starts with nothing open; orders and billing move it from here.
        missing = Customer.objects.filter(credit_exposure__isnull=True).values_list("id", "credit_currency")
        CreditExposure.objects.bulk_create(
            [CreditExposure(customer_id=pk, currency=cur) for pk, cur in missing], ignore_conflicts=True
        )

    def _stock(self, products: list[Product], warehouses: list[Warehouse]) -> None:
        rng = self.rng
        # Decide every pair's opening stock from the seed first, so a re-run makes the same
        # choices whatever already exists; then receive only into positions that are missing.
        wanted: dict[tuple[int, int], Decimal] = {}
        for product in products:
            if product.product_type != ProductType.GOODS:
                continue
            for warehouse in warehouses:
                if rng.random() < 0.85:
                    wanted[(product.pk, warehouse.pk)] = Decimal(
                        rng.choice([5, 12, 24, 40, 60, 120, 250, 500])
                    )
        missing = positions_missing(pairs=list(wanted))
        stock_receive_bulk(
            lines=[ReceiptLine(p, w, wanted[(p, w)]) for p, w in missing],
            reference="SEED-OPENING",
            reason="Opening balance (seed_demo)",
        )
        self._progress("stock positions", len(wanted), len(wanted), len(missing))

    # --- sourcing and replenishment ---------------------------------------------------------

    def _sourcing(self, products: list[Product], warehouses: list[Warehouse]) -> None:
        """Which warehouses serve each channel (nearest first), and reorder rules for every stocked
        goods product with a supplier in the US warehouses, so the reorder scan has work. Idempotent."""
        by_code = {w.code: w for w in warehouses}
        rankings = [
            ChannelWarehouse(channel=channel, warehouse=by_code[code], rank=rank)
            for channel in Channel.objects.filter(code__in=[c[0] for c in CHANNELS]).order_by("code")
            for rank, code in enumerate(CHANNEL_WAREHOUSES, start=1)
            if code in by_code
        ]
        made = ChannelWarehouse.objects.bulk_create(rankings, ignore_conflicts=True)
        refcache.bump(CHANNEL_RANKINGS)  # bulk_create sends no signals: other processes reload
        self._progress("channel warehouses", len(rankings), len(rankings), len(made))
        rng = random.Random(SEED + 5)  # its own stream: adding this changes no earlier choice
        rules = []
        for product in products:
            if product.product_type != ProductType.GOODS or product.primary_supplier_id is None:
                continue
            for code in ("us-east-nj", "us-west-ca"):
                if code not in by_code:
                    continue
                point = Decimal(rng.choice([10, 20, 40]))
                rules.append(
                    ReorderRule(
                        product=product,
                        warehouse=by_code[code],
                        reorder_point=point,
                        safety_stock=point / 2,
                        order_up_to=point * 6,
                        lot_multiple=Decimal(rng.choice([1, 6, 12])),
                        preferred_supplier_id=product.primary_supplier_id,
                        lead_time_days=rng.choice([5, 7, 14]),
                    )
                )
        before = ReorderRule.objects.count()
        ReorderRule.objects.bulk_create(rules, ignore_conflicts=True)
        self._progress("reorder rules", len(rules), len(rules), ReorderRule.objects.count() - before)

    # --- orders --------------------------------------------------------------------------------

    def _orders(self, products: list[Product]) -> None:
        """A few orders from the storefront and the call center, captured through the same service
        as the API (pricing, checks, reservations, events), so the staff screens and the workers
        have something to show. Orders already captured (by source order id) are skipped."""
        from oms.kernel.exceptions import DomainError
        from orders.actors import Actor
        from orders.inputs import CustomerInput, LineInput, OrderInput
        from orders.models import SalesOrder
        from orders.services import order_submit

        rng = random.Random(SEED + 7)
        stocked = [p for p in products if p.product_type == ProductType.GOODS and p.active]
        accounts = list(
            Customer.objects.filter(
                kind=CustomerKind.B2B, status=CustomerStatus.ACTIVE, credit_currency="USD"
            )
            .order_by("account_number")
            .values_list("account_number", flat=True)[:12]
        )
        channels = {c.code: c for c in Channel.objects.filter(code__in=["web", "call_center"])}
        if not stocked or not accounts or len(channels) < 2:
            return
        created = refused = 0
        for n in range(DEMO_ORDERS):
            channel = channels["web" if n % 3 else "call_center"]
            source_id = f"DEMO-{n + 1:04d}"
            picks = rng.sample(stocked, rng.randint(1, 3))
            data = OrderInput(
                source_order_id=source_id,
                customer=CustomerInput(account_number=accounts[n % len(accounts)]),
                lines=tuple(
                    LineInput(source_line_id=str(i + 1), sku=p.sku, quantity=Decimal(rng.randint(1, 4)))
                    for i, p in enumerate(picks)
                ),
                customer_po=f"PO-{4500 + n}",
            )
            if SalesOrder.objects.filter(channel=channel, source_order_id=source_id).exists():
                continue
            try:
                order_submit(channel=channel, actor=Actor.for_channel(channel), data=data)
            except DomainError as exc:  # e.g. a customer on credit hold policy; shown, not fatal
                refused += 1
                self.stdout.write(f"    {source_id}: not captured ({exc})")
            else:
                created += 1
        self._progress("demo orders", DEMO_ORDERS, DEMO_ORDERS, created)

    # --- pricing -----------------------------------------------------------------------------

    def _pricing(self, products: list[Product]) -> None:
        """Price lists (USD for all, EUR/GBP/JPY for a subset), tiers, segments and strategies, rules
        and a coupon, tax for the seeded countries, shipping, exchange rates. Idempotent."""
        rng = random.Random(SEED + 3)  # its own stream: adding pricing changes no earlier choice
        tally = Tally()
        for code, name in PRICING_REASONS:
            tally.created += AdjustmentReason.objects.get_or_create(code=code, defaults={"name": name})[1]
        PricingPolicy.objects.get_or_create(pk=1, defaults={"max_manual_discount_percent": Decimal("20")})

        lists = {}
        for code, name, currency in PRICE_LISTS:
            lists[code], created = PriceList.objects.get_or_create(
                code=code, defaults={"name": name, "currency": currency, "status": PriceListStatus.ACTIVE}
            )
            tally.created += created
        # USD list prices by category band; the other lists carry the first 60 products, converted.
        usd: dict[int, Decimal] = {}
        rows: list[PriceListItem] = []
        subset = products[:60]
        category_code = dict(Category.objects.values_list("id", "code"))
        for product in products:
            low, high = PRICE_BANDS.get(category_code[product.category_id], (5, 200))
            usd[product.pk] = Decimal(rng.randint(low * 100, high * 100)) / 100
            recurring = next((t for noun, t in SERVICE_TERMS.items() if noun in product.name), None)
            extra = {}
            if product.product_type == ProductType.SERVICE and recurring:
                extra = {"charge_type": ChargeType.RECURRING, "recurring_period": recurring[0],
                         "recurring_periods": recurring[1]}  # fmt: skip
            rows.append(PriceListItem(price_list=lists["usd-list"], product=product, uom_id=product.uom_id,
                                      unit_price=usd[product.pk], **extra))  # fmt: skip
            if product in subset:
                for code, currency in (("eur-list", "EUR"), ("gbp-list", "GBP"), ("jpy-list", "JPY")):
                    rows.append(PriceListItem(
                        price_list=lists[code], product=product, uom_id=product.uom_id,
                        unit_price=round_money(usd[product.pk] * Decimal(DEMO_USD_RATES[currency]), currency),
                        **extra,
                    ))  # fmt: skip
        before = PriceListItem.objects.count()
        PriceListItem.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        self._progress("price list items", len(rows), len(rows), PriceListItem.objects.count() - before)

        # Tiers on bulk goods (fasteners, safety) in the USD list: the three modes side by side.
        bulk = [p for p in products if category_code[p.category_id] in ("fasteners", "safety")][:12]
        items = {i.product_id: i for i in PriceListItem.objects.filter(price_list=lists["usd-list"],
                                                                       product__in=bulk)}  # fmt: skip
        tiers_created = 0
        for n, product in enumerate(bulk):
            item = items[product.pk]
            if item.tiers.exists():
                continue
            mode = [TierMode.ALL_UNITS, TierMode.GRADUATED, TierMode.BLOCK][n % 3]
            item.tier_mode = mode
            if mode == TierMode.BLOCK:
                item.block_size, item.block_rounding = Decimal(25), BlockRounding.UP
            item.save()
            base = item.unit_price * (25 if mode == TierMode.BLOCK else 1)
            bands = [(0, 50, Decimal(1)), (50, 250, Decimal("0.92")), (250, None, Decimal("0.85"))]
            for lower, upper, factor in bands:
                PriceTier.objects.create(item=item, lower=Decimal(lower), upper=upper and Decimal(upper),
                                         unit_price=round_money(base * factor, "USD"))  # fmt: skip
                tiers_created += 1
        self._progress("price tiers", len(bulk) * 3, len(bulk) * 3, tiers_created)

        # Who gets which prices.
        segments = {}
        for code, name, priority, criteria in SEGMENTS:
            segments[code], created = PricingSegment.objects.get_or_create(
                code=code, defaults={"name": name, "priority": priority, **criteria}
            )
            tally.created += created
        key_account = Customer.objects.filter(account_number="C-10001").first()
        if key_account:
            SegmentMembership.objects.get_or_create(segment=segments["key-accounts"], customer=key_account)
        strategies = {}
        for code, name, list_codes in STRATEGIES:
            strategies[code], created = PricingStrategy.objects.get_or_create(
                code=code, defaults={"name": name}
            )
            tally.created += created
            for position, list_code in enumerate(list_codes, start=1):
                StrategyPriceList.objects.get_or_create(
                    strategy=strategies[code], price_list=lists[list_code], defaults={"position": position}
                )
        # The key account's contract list: 20 products 15% under list.
        contract = lists["contract-c10001"]
        PriceListItem.objects.bulk_create(
            [PriceListItem(price_list=contract, product=p, uom_id=p.uom_id,
                           unit_price=round_money(usd[p.pk] * Decimal("0.85"), "USD"))
             for p in products[100:120]],
            ignore_conflicts=True,
        )  # fmt: skip
        web = Channel.objects.get(code="web")
        for strategy, level, target in (
            ("default", AssignmentLevel.DEFAULT, {}),
            ("strategic", AssignmentLevel.SEGMENT, {"segment": segments["strategic"]}),
            ("priority", AssignmentLevel.SEGMENT, {"segment": segments["priority"]}),
            ("key-account", AssignmentLevel.SEGMENT, {"segment": segments["key-accounts"]}),
            ("web", AssignmentLevel.CHANNEL, {"channel": web}),
        ):
            StrategyAssignment.objects.get_or_create(strategy=strategies[strategy], level=level, **target)

        categories = {c.code: c for c in Category.objects.all()}
        for spec in DISCOUNT_RULES:
            spec = dict(spec)
            conditions = {
                "categories": [categories[c] for c in spec.pop("categories", [])],
                "segments": [segments[s] for s in spec.pop("segments", [])],
            }
            strategy = spec.pop("strategy", None)
            rule, created = DiscountRule.objects.get_or_create(code=spec.pop("code"), defaults=spec)
            tally.created += created
            for name, values in conditions.items():
                if values:
                    getattr(rule, name).add(*values)
            if strategy:
                strategies[strategy].rules.add(rule)
        Coupon.objects.get_or_create(
            code="SPRING15",
            defaults={"rule": DiscountRule.objects.get(code="spring-coupon"), "max_uses": 100,
                      "max_uses_per_customer": 1},
        )  # fmt: skip

        tax_classes = {t.code: t for t in TaxClass.objects.all()}
        for country, region, standard, reduced in TAX_RATES:
            for klass, rate in (("standard", standard), ("reduced", reduced), ("exempt", "0")):
                where = f"{country}-{region}" if region else country
                TaxRule.objects.get_or_create(
                    country=country, region=region, tax_class=tax_classes[klass], valid_from=None,
                    defaults={"name": f"{where} {klass}", "rate": Decimal(rate)},
                )  # fmt: skip
        for name, method, country, currency, flat, per_kg, free_over in SHIPPING:
            ShippingRule.objects.get_or_create(
                name=name, ship_method=method,
                defaults={"country": country, "currency": currency, "flat_amount": Decimal(flat),
                          "per_kg_amount": Decimal(per_kg),
                          "free_over_amount": Decimal(free_over) if free_over else None},
            )  # fmt: skip
        for valid_on, drift in (("2024-01-01", Decimal("0.98")), ("2026-01-01", Decimal(1))):
            for currency, rate in DEMO_USD_RATES.items():
                if currency != "USD":
                    ExchangeRate.objects.get_or_create(
                        base="USD", quote=currency, valid_on=valid_on,
                        defaults={"rate": (Decimal(rate) * drift).quantize(Decimal("0.000001"))},
                    )  # fmt: skip
        ruleset_version_bump()  # the bulk inserts sent no signals
        self.stdout.write(
            f"  {'pricing setup':<22} lists, segments, strategies, rules, tax, shipping, rates "
            f"({tally.created} new)"
        )
