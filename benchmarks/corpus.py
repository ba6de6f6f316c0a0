"""Generate a deterministic corpus of processed Segment messages as NDJSON.

The messages are shaped like those a Segment webhook or S3 destination delivers: envelope
timestamps in ISO 8601 with milliseconds and ``Z``, ``context`` from web, server and mobile
libraries, ``integrations``, event ``properties`` and identify/group ``traits``. Key names come
from a fixed vocabulary of a few dozen property names, so column counts stay realistic.

A share of lines repeats an earlier line byte for byte, the way Segment retries and replays
deliver the same ``messageId`` twice. The output depends only on the seed and the event count.

Usage::

    python benchmarks/corpus.py --events 200000 --output benchmarks/.corpus/segment.ndjson
    python benchmarks/corpus.py --large
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
from pathlib import Path

import orjson

DEFAULT_EVENTS = 200_000
LARGE_EVENTS = 2_000_000
DEFAULT_SEED = 20240305
DEFAULT_DUPLICATE_SHARE = 0.005
CORPUS_DIR = Path(__file__).resolve().parent / ".corpus"

# Share of each message type, summing to 1.
TYPE_WEIGHTS = {
    "track": 0.70,
    "page": 0.15,
    "identify": 0.07,
    "screen": 0.05,
    "group": 0.03,
}

# 2024-03-05T00:00:00Z in epoch milliseconds. Messages advance from here by a few seconds each.
START_EPOCH_MS = 1_709_596_800_000

LOCALES = ["en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "pt-BR", "ja-JP", "nl-NL"]
CURRENCIES = ["USD", "EUR", "GBP", "JPY", "BRL"]
PLANS = ["free", "starter", "team", "business", "enterprise"]
CITIES = [
    ("Berlin", "DE", "BE", "10115"),
    ("Lisbon", "PT", "11", "1100-148"),
    ("Austin", "US", "TX", "73301"),
    ("Osaka", "JP", "27", "530-0001"),
    ("Curitiba", "BR", "PR", "80010-000"),
    ("Zürich", "CH", "ZH", "8001"),
]
FIRST_NAMES = ["Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "José", "Ingrid", "Yuki", "Chidi"]
LAST_NAMES = ["Lovelace", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Müller", "Sato"]
INDUSTRIES = ["Retail", "Software", "Media", "Logistics", "Finance"]

WEB_USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.3 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.3 Mobile/15E148 Safari/604.1",
]
MOBILE_DEVICES = [
    ("Apple", "iPhone15,2", "ios", "iOS", "17.3.1", "analytics-swift", "1.5.3"),
    ("Apple", "iPad13,4", "ios", "iOS", "17.2", "analytics-swift", "1.5.3"),
    ("Google", "Pixel 8", "android", "Android", "14", "analytics-kotlin", "1.14.2"),
    ("samsung", "SM-S911B", "android", "Android", "14", "analytics-kotlin", "1.14.2"),
]
SERVER_LIBRARIES = [
    ("analytics-python", "2.3.2"),
    ("analytics-node", "2.1.0"),
    ("analytics-go", "3.3.0"),
]
SITE = "https://shop.example.com"
PAGES = [
    ("/", "Example Shop", None),
    ("/products", "All products", "Catalog"),
    ("/products/trail-runner-2", "Trail Runner 2 – Example Shop", "Product"),
    ("/products/rain-shell", "Rain Shell – Example Shop", "Product"),
    ("/cart", "Cart", "Checkout"),
    ("/checkout/payment", "Payment", "Checkout"),
    ("/blog/choosing-running-shoes", "Choosing running shoes", "Blog"),
    ("/account/settings", "Settings", "Account"),
    ("/pricing", "Pricing", None),
]
REFERRERS = ["", "", "", "https://www.google.com/", "https://news.example.org/", "https://t.co/abc123"]
CAMPAIGNS = [
    {"name": "spring_sale", "source": "newsletter", "medium": "email"},
    {"name": "brand", "source": "google", "medium": "cpc", "term": "running shoes"},
    {"source": "twitter", "medium": "social", "content": "video-a"},
]
SCREENS = ["Home", "Product Detail", "Cart", "Checkout", "Order History", "Settings"]
PRODUCTS = [
    ("sku-1001", "Trail Runner 2", "Shoes", "Northpeak", 129.0),
    ("sku-1002", "Rain Shell", "Jackets", "Northpeak", 189.5),
    ("sku-1003", "Merino Tee", "Shirts", "Woolworks", 45.0),
    ("sku-1004", "Hydration Vest", "Accessories", "Streamline", 74.99),
    ("sku-1005", "Trekking Poles", "Accessories", "Northpeak", 99.95),
]
TRACK_EVENTS = [
    ("Product Viewed", 0.24),
    ("Product Added", 0.12),
    ("Cart Viewed", 0.08),
    ("Checkout Started", 0.07),
    ("Order Completed", 0.06),
    ("Products Searched", 0.10),
    ("Signed Up", 0.03),
    ("Signed In", 0.07),
    ("Video Playback Started", 0.06),
    ("Button Clicked", 0.14),
    ("Feature Flag Evaluated", 0.03),
]


class CorpusGenerator:
    """Build Segment messages from one seeded random number generator."""

    def __init__(self, seed: int, duplicate_share: float = DEFAULT_DUPLICATE_SHARE) -> None:
        self.rng = random.Random(seed)
        self.duplicate_share = duplicate_share
        self.clock_ms = START_EPOCH_MS
        self.types = list(TYPE_WEIGHTS)
        self.type_cum_weights = _cumulative(TYPE_WEIGHTS.values())
        self.track_names = [name for name, _ in TRACK_EVENTS]
        self.track_cum_weights = _cumulative(weight for _, weight in TRACK_EVENTS)
        # A bounded pool of people, so the same user ids, names and emails recur.
        self.users = [self._make_user(index) for index in range(5_000)]
        self.groups = [f"grp_{self._hex(12)}" for _ in range(300)]
        self.recent_lines: list[bytes] = []

    def lines(self, count: int):
        """Yield ``count`` NDJSON lines, each ending in a newline."""
        rng = self.rng
        for _ in range(count):
            if self.recent_lines and rng.random() < self.duplicate_share:
                yield rng.choice(self.recent_lines)
                continue
            line = orjson.dumps(self.message()) + b"\n"
            # A later duplicate repeats one of 512 recent lines, each slot replaced at random.
            if len(self.recent_lines) < 512:
                self.recent_lines.append(line)
            else:
                self.recent_lines[rng.randrange(512)] = line
            yield line

    def message(self) -> dict:
        """Return one processed Segment message of a randomly chosen type."""
        rng = self.rng
        message_type = rng.choices(self.types, cum_weights=self.type_cum_weights)[0]
        user = rng.choice(self.users)
        if message_type == "screen":
            origin = "mobile"
        elif message_type == "page":
            origin = "web"
        else:
            origin = rng.choices(["web", "server", "mobile"], cum_weights=[0.25, 0.80, 1.0])[0]

        message = {"type": message_type}
        message.update(self._ids(origin, user))
        message.update(self._timestamps(origin))
        message["context"] = self._context(origin, user)
        message["integrations"] = {}
        builder = getattr(self, f"_{message_type}")
        message.update(builder(user))
        return message

    def _ids(self, origin: str, user: dict) -> dict:
        rng = self.rng
        if origin == "web":
            message_id = "ajs-next-" + self._hex(32)
        elif origin == "mobile":
            message_id = self._uuid().upper() if user["device"][2] == "ios" else self._uuid()
        else:
            message_id = self._uuid()
        ids = {"messageId": message_id, "anonymousId": user["anonymous_id"]}
        # About a third of web visitors are not signed in and carry an explicit null userId.
        if origin == "web" and rng.random() < 0.35:
            ids["userId"] = None
        elif origin == "server":
            ids = {"messageId": message_id, "userId": user["user_id"]}
        else:
            ids["userId"] = user["user_id"]
        return ids

    def _timestamps(self, origin: str) -> dict:
        rng = self.rng
        self.clock_ms += rng.randrange(1, 4_000)
        original = self.clock_ms
        # Client clocks drift, and mobile queues hold events for a while before sending.
        sent = original + rng.randrange(5, 3_000 if origin != "mobile" else 90_000)
        # receivedAt is on Segment's clock: network latency plus the client's clock skew.
        received = sent + rng.randrange(40, 900) + rng.randrange(-2_000, 2_000)
        timestamp = received - (sent - original)
        return {
            "timestamp": _iso_ms(timestamp),
            "originalTimestamp": _iso_ms(original),
            "sentAt": _iso_ms(sent),
            "receivedAt": _iso_ms(received),
        }

    def _context(self, origin: str, user: dict) -> dict:
        rng = self.rng
        if origin == "web":
            path, title, _ = rng.choice(PAGES)
            # Most visits carry no campaign parameters, and analytics.js then sends an empty object.
            campaign = rng.choice(CAMPAIGNS) if rng.random() < 0.3 else {}
            search = "?utm_source=" + campaign["source"] if campaign else ""
            return {
                "ip": user["ip"],
                "library": {"name": "analytics.js", "version": "next-1.70.0"},
                "locale": user["locale"],
                "page": {
                    "path": path,
                    "referrer": rng.choice(REFERRERS),
                    "search": search,
                    "title": title,
                    "url": SITE + path + search,
                },
                "campaign": campaign,
                "userAgent": user["user_agent"],
            }
        if origin == "mobile":
            manufacturer, model, device_type, os_name, os_version, library, version = user["device"]
            return {
                "app": {"name": "Example Shop", "version": "4.12.0", "build": "4120"},
                "device": {"id": user["device_id"], "manufacturer": manufacturer, "model": model, "type": device_type},
                "ip": user["ip"],
                "library": {"name": library, "version": version},
                "locale": user["locale"],
                "os": {"name": os_name, "version": os_version},
            }
        name, version = rng.choice(SERVER_LIBRARIES)
        return {"library": {"name": name, "version": version}, "ip": user["ip"]}

    def _track(self, user: dict) -> dict:
        rng = self.rng
        event = rng.choices(self.track_names, cum_weights=self.track_cum_weights)[0]
        sku, product_name, category, brand, price = rng.choice(PRODUCTS)
        if event in ("Product Viewed", "Product Added"):
            properties = {
                "productId": sku,
                "name": product_name,
                "category": category,
                "brand": brand,
                "price": price,
                "currency": user["currency"],
                "position": rng.randrange(1, 25),
            }
            if event == "Product Added":
                properties["quantity"] = rng.randrange(1, 4)
                properties["cartId"] = "cart-" + self._hex(10)
        elif event in ("Cart Viewed", "Checkout Started", "Order Completed"):
            items = [self._line_item() for _ in range(rng.randrange(1, 4))]
            subtotal = round(sum(item["price"] * item["quantity"] for item in items), 2)
            properties = {
                "orderId": "ord-" + self._hex(10),
                "value": subtotal,
                "currency": user["currency"],
                "products": items,
            }
            if event == "Order Completed":
                tax = round(subtotal * 0.19, 2)
                properties.update(
                    {
                        "revenue": subtotal,
                        "tax": tax,
                        "shipping": rng.choice([0, 4.95, 9.9]),
                        "total": round(subtotal + tax, 2),
                        "coupon": rng.choice([None, "SPRING10", "WELCOME"]),
                        "payment": {"method": rng.choice(["card", "paypal", "invoice"]), "installments": 1},
                    }
                )
        elif event == "Products Searched":
            properties = {"query": rng.choice(["shoes", "rain jacket", "vest", "merino"]), "resultCount": rng.randrange(0, 80)}
        elif event in ("Signed Up", "Signed In"):
            properties = {"method": rng.choice(["email", "google", "apple"]), "plan": user["plan"], "firstLogin": event == "Signed Up"}
        elif event == "Video Playback Started":
            properties = {
                "session_id": self._hex(12),
                "content_asset_id": rng.randrange(10_000, 99_999),
                "position": 0,
                "total_length": rng.randrange(30, 1_800),
                "bitrate": rng.choice([800, 1_600, 4_500]),
                "full_screen": rng.random() < 0.3,
                "video_player": "html5",
                "sound": rng.randrange(0, 101),
            }
        elif event == "Feature Flag Evaluated":
            properties = {"flagKey": rng.choice(["new-checkout", "dark-mode", "search-v2"]), "variant": rng.choice(["on", "off", "control"]), "reason": {"kind": "RULE_MATCH", "ruleIndex": rng.randrange(0, 5)}}
        else:
            properties = {
                "buttonText": rng.choice(["Buy now", "Add to cart", "Subscribe", "Learn more"]),
                "buttonId": "btn-" + self._hex(6),
                "section": rng.choice(["hero", "footer", "sidebar"]),
                "experiment": {"id": "exp-" + self._hex(6), "arm": rng.choice(["A", "B"])},
                "tags": rng.sample(["promo", "above-fold", "mobile", "sticky", "v2"], rng.randrange(1, 4)),
            }
        return {"event": event, "properties": properties}

    def _page(self, user: dict) -> dict:
        path, title, category = PAGES[self.rng.randrange(len(PAGES))]
        body = {"name": title, "properties": {"path": path, "title": title, "url": SITE + path, "referrer": self.rng.choice(REFERRERS), "search": ""}}
        if category is not None:
            body["category"] = category
            body["properties"]["category"] = category
        return body

    def _screen(self, user: dict) -> dict:
        name = self.rng.choice(SCREENS)
        return {"name": name, "properties": {"name": name, "loadTimeMs": self.rng.randrange(80, 2_500), "fromPush": self.rng.random() < 0.1}}

    def _identify(self, user: dict) -> dict:
        return {"traits": dict(user["traits"], logins=self.rng.randrange(1, 400))}

    def _group(self, user: dict) -> dict:
        rng = self.rng
        group_id = rng.choice(self.groups)
        city, country, state, postal_code = CITIES[int(group_id[-4:], 16) % len(CITIES)]
        return {
            "groupId": group_id,
            "traits": {
                "name": f"Company {group_id[-4:].upper()}",
                "industry": rng.choice(INDUSTRIES),
                "employees": rng.randrange(5, 5_000),
                "plan": rng.choice(PLANS),
                "website": f"https://{group_id[-6:]}.example.net",
                "address": {"city": city, "country": country, "state": state, "postalCode": postal_code},
                "createdAt": _iso_ms(START_EPOCH_MS - rng.randrange(0, 10**11)),
            },
        }

    def _line_item(self) -> dict:
        sku, product_name, category, _, price = self.rng.choice(PRODUCTS)
        return {"product_id": sku, "name": product_name, "category": category, "price": price, "quantity": self.rng.randrange(1, 3)}

    def _make_user(self, index: int) -> dict:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        city, country, state, postal_code = rng.choice(CITIES)
        user_id = f"user_{index:06d}"
        return {
            "user_id": user_id,
            "anonymous_id": self._uuid(),
            "device_id": self._uuid(),
            "ip": f"203.0.{rng.randrange(113, 114)}.{rng.randrange(1, 255)}",
            "locale": rng.choice(LOCALES),
            "currency": rng.choice(CURRENCIES),
            "plan": rng.choice(PLANS),
            "user_agent": rng.choice(WEB_USER_AGENTS),
            "device": rng.choice(MOBILE_DEVICES),
            "traits": {
                "email": f"{first.lower()}.{last.lower()}{index}@example.com",
                "name": f"{first} {last}",
                "plan": rng.choice(PLANS),
                "createdAt": _iso_ms(START_EPOCH_MS - rng.randrange(0, 10**11)),
                "address": {"city": city, "country": country, "state": state, "postalCode": postal_code},
                "newsletter": rng.random() < 0.4,
                "ltv": round(rng.uniform(0, 2_000), 2),
            },
        }

    def _hex(self, digits: int) -> str:
        return format(self.rng.getrandbits(4 * digits), f"0{digits}x")

    def _uuid(self) -> str:
        value = self._hex(32)
        variant = "89ab"[int(value[16], 16) & 3]
        return f"{value[:8]}-{value[8:12]}-4{value[13:16]}-{variant}{value[17:20]}-{value[20:]}"


def _cumulative(weights) -> list[float]:
    total = 0.0
    result = []
    for weight in weights:
        total += weight
        result.append(total)
    return result


def _iso_ms(epoch_ms: int) -> str:
    seconds, millis = divmod(epoch_ms, 1000)
    moment = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{millis:03d}Z"


def default_path(events: int, seed: int = DEFAULT_SEED) -> Path:
    """Return the corpus path under benchmarks/.corpus/ for an event count and seed."""
    return CORPUS_DIR / f"segment-{events}-seed{seed}.ndjson"


def write_corpus(path: Path, events: int, seed: int = DEFAULT_SEED, duplicate_share: float = DEFAULT_DUPLICATE_SHARE) -> int:
    """Write ``events`` lines to ``path`` and return the file size in bytes.

    The file is written under a temporary name and renamed at the end, so an interrupted run
    never leaves a short corpus that a later benchmark would reuse.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    generator = CorpusGenerator(seed, duplicate_share)
    with open(partial, "wb", buffering=1 << 20) as output:
        for line in generator.lines(events):
            output.write(line)
    os.replace(partial, path)
    return path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help=f"number of lines to write (default {DEFAULT_EVENTS:,})")
    parser.add_argument("--large", action="store_true", help=f"write {LARGE_EVENTS:,} lines, overriding --events")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument(
        "--duplicate-share",
        type=float,
        default=DEFAULT_DUPLICATE_SHARE,
        help=f"fraction of lines that repeat an earlier line (default {DEFAULT_DUPLICATE_SHARE})",
    )
    parser.add_argument("--output", type=Path, help="output file (default benchmarks/.corpus/segment-<events>-seed<seed>.ndjson)")
    args = parser.parse_args(argv)

    events = LARGE_EVENTS if args.large else args.events
    if events < 1:
        parser.error(f"--events must be at least 1, got {events}")
    if not 0 <= args.duplicate_share < 1:
        parser.error(f"--duplicate-share must be in [0, 1), got {args.duplicate_share}")
    path = args.output or default_path(events, args.seed)
    size = write_corpus(path, events, args.seed, args.duplicate_share)
    print(f"wrote {path}: {events:,} events, {size:,} bytes, {size / events:.0f} bytes per event on average")
    return 0


if __name__ == "__main__":
    sys.exit(main())
