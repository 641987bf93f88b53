"""Units and conversions, tax classes, suppliers, brands, categories and 300 products."""

from __future__ import annotations

from decimal import Decimal

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

from .base import Context

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


def catalog(ctx: Context) -> list[Product]:
    rng = ctx.rng
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
        supplier, _ = Supplier.objects.get_or_create(code=code, defaults={"name": name, "country": country})
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
                tax_class=tax["exempt" if is_service else ("reduced" if code == "safety" else "standard")],
                primary_supplier=None if is_service else suppliers[rng.randrange(len(suppliers))],
                weight_kg=weight,
                lot_controlled=code in ("cleaning", "safety") and rng.random() < 0.4,
            )
        )
    before = Product.objects.count()
    Product.objects.bulk_create(rows, ignore_conflicts=True, batch_size=200)
    products = list(Product.objects.filter(sku__in=[p.sku for p in rows]).order_by("sku"))
    ctx.progress("products", len(products), PRODUCT_COUNT, Product.objects.count() - before)

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
    ctx.progress("product conversions", len(box_sizes), len(box_sizes), created)
    return products
