"""Business accounts with sites and contacts in eight markets, storefront consumers, credit exposure rows."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth import get_user_model

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
from oms.kernel.money import round_money

from .base import Context

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


def customers(ctx: Context) -> None:
    rng = ctx.rng
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
    ctx.progress("business customers", len(customers), B2B_CUSTOMERS, len(new))

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
    ctx.progress("consumers", CONSUMERS, CONSUMERS, after - before)

    # Every account starts with nothing open; orders and billing move it from here.
    missing = Customer.objects.filter(credit_exposure__isnull=True).values_list("id", "credit_currency")
    CreditExposure.objects.bulk_create(
        [CreditExposure(customer_id=pk, currency=cur) for pk, cur in missing], ignore_conflicts=True
    )


# company, contact, e-mail domain, country, interest, estimated value (USD), stage to reach
DEMO_LEADS = [
    (
        "Riverside Bikes",
        "Nora Quist",
        "riverside-bikes.example",
        "US",
        "Fleet of 40 e-bikes for rentals",
        "48000",
        "new",
    ),
    (
        "Tanaka Outdoor",
        "Ken Tanaka",
        "tanaka-outdoor.example",
        "JP",
        "Helmets and locks, quarterly",
        "12500",
        "new",
    ),
    (
        "Brightline Fitness",
        "Ama Boateng",
        "brightline.example",
        "GB",
        "Spin bikes for 6 gyms",
        "30000",
        "contacted",
    ),
    (
        "Alpenrad GmbH",
        "Lukas Weber",
        "alpenrad.example",
        "DE",
        "Dealer agreement, Bavaria",
        "75000",
        "contacted",
    ),
    (
        "Harbour Couriers",
        "Sam Ortiz",
        "harbour-couriers.example",
        "CA",
        "Cargo bikes, pilot of 5",
        "9000",
        "qualified",
    ),
    (
        "Lion City Rides",
        "Wei Ling Tan",
        "lioncity.example",
        "SG",
        "Spare parts contract",
        "22000",
        "proposal",
    ),
    ("Gulf Sports Co.", "Fahad Al-Sabah", "gulfsports.example", "KW", "Indoor trainers", "15000", "lost"),
    (
        "Dutch Commuter B.V.",
        "Eva de Vries",
        "dutchcommuter.example",
        "NL",
        "Folding bikes for staff",
        "18000",
        "qualified",
    ),
]
STAGE_PATH = {"new": [], "contacted": ["contacted"], "qualified": ["qualified"],
              "proposal": ["qualified", "proposal"], "lost": ["contacted", "lost"]}  # fmt: skip


def leads(ctx: Context) -> None:
    """A sales pipeline: leads in every open stage with calls logged and follow-ups due (some
    overdue, so the dashboard tile and "My follow-ups" have work), one lost, one won."""
    from datetime import timedelta

    from django.utils import timezone

    from customers.models import Interaction, Lead
    from customers.services import interaction_log, lead_convert, lead_create, lead_stage_change

    User = get_user_model()
    owner = User.objects.filter(username="orderdesk").first()
    today = timezone.localdate()
    existing = Lead.objects.count()
    created = 0
    for n, (company, contact, domain, country, interest, value, stage) in enumerate(DEMO_LEADS):
        email = f"{contact.split()[0].lower()}@{domain}"
        if Lead.objects.filter(email=email).exists():
            continue
        lead = lead_create(
            company=company, contact_name=contact, email=email, country=country, interest=interest,
            estimated_value=Decimal(value), currency="USD", owner=owner,
            source=("staff", "trade_show", "referral")[n % 3],
        )  # fmt: skip
        for step in STAGE_PATH[stage]:
            lead_stage_change(lead_id=lead.pk, to=step, user=owner, reason="Bought from a competitor")
        if stage != "new":
            call = interaction_log(
                kind="call", subject=f"Call with {contact}", lead_id=lead.pk, user=owner,
                outcome="Interested; wants a price list", follow_up_on=today if stage != "lost" else None,
            )  # fmt: skip
            if stage != "lost":  # logged days ago: some follow-ups are overdue by now, some ahead
                Interaction.objects.filter(pk=call.pk).update(follow_up_on=today + timedelta(days=n - 3))
        created += 1
    # One lead won by linking it to an account that already buys from us.
    account = Customer.objects.filter(kind=CustomerKind.B2B).order_by("account_number").first()
    won_email = "orders@won-lead.example"
    if account and not Lead.objects.filter(email=won_email).exists():
        lead = lead_create(company=account.name, contact_name="Pat Reyes", email=won_email, owner=owner,
                           interest="Second site", estimated_value=Decimal("20000"))  # fmt: skip
        interaction_log(
            kind="visit", subject="Site visit", lead_id=lead.pk, user=owner, outcome="Agreed terms"
        )
        lead_convert(lead_id=lead.pk, user=owner, customer_id=account.pk)
        created += 1
    ctx.progress("leads", Lead.objects.count(), existing + created, created)
