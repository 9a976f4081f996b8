"""Northwind Apparel's catalogue and customers: the fixed ingredients of the demo world.

Canonical SKUs are style + colour + size with no separators (`TS1001NVYM`) because the default
`sku_pattern` only admits letters and digits; the few codes that break it are deliberate.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

VAT_RATE = 0.2
GIFT_WRAP = "GIFTWRAP"
CARRIAGE = "CARRIAGE"  # how the ERP books the delivery charge: a non-stock line

TOPS = ("XS", "S", "M", "L", "XL", "XXL")
BOTTOMS = ("28", "30", "32", "34", "36")
SOCKS = ("SM", "ML")
ONE_SIZE = ("OS",)

COLOURS = {
    "NVY": "Navy",
    "WHT": "White",
    "BLK": "Black",
    "OLV": "Olive",
    "GRY": "Grey Marl",
    "ECR": "Ecru",
    "RST": "Rust",
    "STN": "Stone",
    "IND": "Indigo",
    "FOR": "Forest",
}


@dataclass(frozen=True)
class Style:
    code: str
    name: str
    price: int  # VAT-inclusive shelf price in pence, as UK shoppers see it
    colours: tuple[str, ...]
    sizes: tuple[str, ...]


STYLES: tuple[Style, ...] = (
    Style("TS1001", "Organic Crew Tee", 2200, ("NVY", "WHT", "BLK", "OLV", "GRY"), TOPS),
    Style("TS1002", "Heavyweight Pocket Tee", 2800, ("ECR", "BLK", "RST"), TOPS),
    Style("TS1003", "Long Sleeve Breton Tee", 3200, ("NVY", "ECR", "RST", "BLK"), TOPS),
    Style("SW2001", "Loopback Crew Sweat", 5500, ("GRY", "NVY", "FOR"), TOPS),
    Style("SW2002", "Hooded Sweat", 6000, ("GRY", "BLK", "STN"), TOPS),
    Style("HD2101", "Zip Hoodie", 6500, ("BLK", "GRY", "OLV"), TOPS),
    Style("JK3001", "Waxed Field Jacket", 14500, ("OLV", "NVY"), TOPS[1:5]),
    Style("JK3002", "Quilted Gilet", 8500, ("BLK", "NVY", "STN"), TOPS[1:5]),
    Style("SH4001", "Oxford Shirt", 4900, ("WHT", "IND"), TOPS),
    Style("SH4002", "Flannel Overshirt", 5900, ("RST", "FOR", "NVY"), TOPS[1:]),
    Style("SH4003", "Linen Camp Shirt", 5200, ("ECR", "STN", "NVY"), TOPS),
    Style("TR5001", "Slim Chino", 5500, ("STN", "NVY", "OLV"), BOTTOMS),
    Style("TR5002", "Relaxed Selvedge Jean", 8900, ("IND", "BLK"), BOTTOMS),
    Style("TR5003", "Cord Trouser", 6500, ("RST", "STN", "FOR"), BOTTOMS),
    Style("SS5101", "Swim Short", 3500, ("NVY", "OLV", "RST"), TOPS[1:5]),
    Style("KN6001", "Merino Crew Knit", 7500, ("NVY", "ECR", "FOR"), TOPS[1:5]),
    Style("KN6004", "Cotton Rollneck", 6500, ("BLK", "ECR", "NVY"), TOPS[1:5]),
    Style("KN6002", "Lambswool Beanie", 2200, ("GRY", "NVY", "RST", "BLK"), ONE_SIZE),
    Style("SK7001", "Ribbed Sock 3 Pack", 1500, ("WHT", "BLK", "GRY"), SOCKS),
    Style("AC8001", "Canvas Tote Bag", 1800, ("ECR", "BLK"), ONE_SIZE),
)

# The field jacket was set up at the old 3PL under legacy codes that the warehouse still uses.
LEGACY_STYLE = "JK3001"

# Set up in the ERP and on the website, not yet at the warehouse: orders for it bounce.
NEW_STYLE = Style("KN6003", "Cable Knit Cardigan", 9500, ("ECR",), ("M",))
# A colourway the web team published before anyone created it in the ERP.
WEB_ONLY_SKU = "TS1001LIL"
# Keyed into the ERP by hand with separators the warehouse import will refuse.
BADLY_KEYED = {
    "SW2001-SAGE-M": "Loopback Crew Sweat Sage M",
    "AC8002 NAVY": "Weekender Holdall Navy",
}

NON_STOCK = {
    GIFT_WRAP: ("Gift wrap and card", 350),
    CARRIAGE: ("Carriage", 0),
}

# Storefront shipping options: gross price in pence, the 3PL service, carrier, express.
SHIPPING = {
    "Standard Delivery": (395, "WHSTD48", "Royal Mail"),
    "Next Day Delivery": (795, "WHNDAY", "DPD"),
}
UNMAPPED_METHOD = "Saturday Delivery"  # sold on the website, never given a 3PL service
FREE_STANDARD_OVER = 6000  # free standard delivery over £60
EXPRESS_CODES = ("WHNDAY",)
SERVICE_CARRIER = {"WHSTD48": "Royal Mail", "WHNDAY": "DPD"}


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    barcode: str
    price: int  # gross pence
    unit_cost: int  # pence
    weight: float  # relative popularity


def ean13(body: str) -> str:
    """A 12-digit body plus its GS1 check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _product(style: Style, colour: str, size: str, number: int) -> Product:
    name = f"{style.name} {COLOURS.get(colour, colour.title())}"
    if size != "OS":
        name = f"{name} {size}"
    return Product(
        sku=f"{style.code}{colour}{size}",
        name=name,
        barcode=ean13(f"50609{number:07d}"),
        price=style.price,
        unit_cost=round(style.price / (1 + VAT_RATE) * 0.38),
        weight=1.0,
    )


def build_products(rng: np.random.Generator) -> list[Product]:
    """Every variant of every style, with a long-tailed popularity (bestsellers and dead stock)."""
    products: list[Product] = []
    for style in STYLES:
        for colour in style.colours:
            for size in style.sizes:
                products.append(_product(style, colour, size, len(products) + 1))
    ranks = rng.permutation(len(products)) + 1
    size_bias = {"M": 1.6, "L": 1.5, "S": 1.1, "32": 1.5, "34": 1.4, "XXL": 0.5, "XS": 0.5}
    weighted = []
    for product, rank in zip(products, ranks, strict=True):
        bias = next((b for s, b in size_bias.items() if product.sku.endswith(s)), 1.0)
        weighted.append(replace(product, weight=float(bias / rank**0.7)))
    return weighted


def legacy_aliases(products: list[Product]) -> dict[str, str]:
    """Canonical SKU -> the warehouse's legacy code, for the old field jacket."""
    legacy = [p.sku for p in products if p.sku.startswith(LEGACY_STYLE)]
    return {sku: f"WFJ{index:03d}" for index, sku in enumerate(legacy, start=101)}


def new_style_products(start: int) -> list[Product]:
    return [
        _product(NEW_STYLE, colour, size, start + i)
        for i, (colour, size) in enumerate(
            (c, s) for c in NEW_STYLE.colours for s in NEW_STYLE.sizes
        )
    ]


FIRST_NAMES = (
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Freya", "Grace", "Sophie",
    "Oliver", "George", "Noah", "Arthur", "Harry", "Leo", "Jack", "Charlie", "Oscar", "Alfie",
    "Priya", "Aisha", "Fatima", "Mohammed", "Ravi", "Sean", "Niamh", "Callum", "Eilidh", "Rhys",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Khan", "Hughes", "Edwards", "Murphy", "Campbell", "Kaur", "Clarke", "Lewis", "Morgan",
)  # fmt: skip
STREETS = (
    "High Street", "Station Road", "Church Lane", "Victoria Road", "Mill Lane", "Park Avenue",
    "Queens Road", "Kings Road", "The Green", "Manor Way", "Orchard Close", "Albert Street",
    "North Road", "Chapel Street", "Grange Road", "Windsor Terrace", "Meadow View",
)  # fmt: skip
# City -> outward codes that exist there; inward codes are generated.
CITIES = {
    "London": ("SW11", "E8", "N1", "SE15", "NW5", "W12", "E17"),
    "Manchester": ("M4", "M20", "M14"),
    "Leeds": ("LS6", "LS8"),
    "Bristol": ("BS8", "BS6", "BS3"),
    "Birmingham": ("B13", "B29"),
    "Edinburgh": ("EH3", "EH10"),
    "Glasgow": ("G12", "G41"),
    "Cardiff": ("CF10", "CF24"),
    "Brighton": ("BN1", "BN2"),
    "Newcastle upon Tyne": ("NE6", "NE2"),
    "Nottingham": ("NG7", "NG5"),
    "Sheffield": ("S10", "S11"),
    "Liverpool": ("L17", "L18"),
    "York": ("YO31", "YO10"),
    "Norwich": ("NR2",),
    "Belfast": ("BT9", "BT7"),
}
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters Royal Mail uses in inward codes


@dataclass
class Address:
    name: str
    line1: str | None
    line2: str | None
    city: str | None
    postcode: str | None
    country: str | None
    phone: str | None
    email: str


def random_address(rng: np.random.Generator) -> Address:
    first = FIRST_NAMES[rng.integers(len(FIRST_NAMES))]
    last = LAST_NAMES[rng.integers(len(LAST_NAMES))]
    city = list(CITIES)[rng.integers(len(CITIES))]
    outward = CITIES[city][rng.integers(len(CITIES[city]))]
    letters = rng.choice(list(INWARD_LETTERS), size=2)
    flat = rng.random() < 0.2
    return Address(
        name=f"{first} {last}",
        line1=f"{rng.integers(1, 180)} {STREETS[rng.integers(len(STREETS))]}",
        line2=f"Flat {rng.integers(1, 30)}" if flat else None,
        city=city,
        postcode=f"{outward} {rng.integers(1, 10)}{letters[0]}{letters[1]}",
        country="GB",
        # Ofcom's drama range: numbers that can never reach a real person.
        phone=f"07700 900{rng.integers(0, 1000):03d}",
        email=f"{first.lower()}.{last.lower()}{rng.integers(1, 99)}@example.co.uk",
    )
