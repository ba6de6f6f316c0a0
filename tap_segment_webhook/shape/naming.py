"""Column names: snake_case each key the way Segment's warehouses do, join with `__`, fit 63 bytes.

| key | name part |
| --- | --- |
| `userId` | `user_id` |
| `userID` | `user_id` |
| `pageURL` | `page_url` |
| `HTTPServer` | `httpserver` |
| `Order Completed` | `order_completed` |
| `iPhone7,2` | `i_phone7_2` |
| `address2City` | `address2_city` |
| `a__b` | `a_b` |
| `Café Visited` | `caf_visited` |
| `utm.medium` | `utm_medium` |
| `visit-count` | `visit_count` |
| `_private` | `_private` |
| `__proto__` | `_proto` |
| `⭐level` | `level` |
| `名前`, `` (empty) | `` (the caller names it from a hash) |

Rules: ASCII letters and digits are kept and lowered; any other ASCII character separates
words; other characters are dropped. A lower-case letter or digit followed by an upper-case
letter starts a word; an upper-case run stays glued to the lower-case letters after it. One
leading underscore is kept when the key starts with one.
"""

from __future__ import annotations

import hashlib
import re

MAX_NAME_BYTES = 63
HASH_CHARS = 8
PATH_SEPARATOR = "__"
_CLEAN = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_CACHE_LIMIT = 100_000
_cache: dict[str, str] = {}


def _split_words(key: str) -> list[str]:
    words: list[str] = []
    current: list[str] = []
    previous = ""
    for char in key:
        if not char.isascii():
            continue
        if not char.isalnum():
            if current:
                words.append("".join(current))
                current = []
            previous = ""
            continue
        if char.isupper() and (previous.islower() or previous.isdigit()):
            words.append("".join(current))
            current = []
        current.append(char.lower())
        previous = char
    if current:
        words.append("".join(current))
    return words


def snake_case(key: str) -> str:
    """Convert one raw key to a snake_case name part; the result may be empty."""
    if _CLEAN.match(key):
        return key
    cached = _cache.get(key)
    if cached is not None:
        return cached
    name = "_".join(_split_words(key))
    if key.startswith("_") and name:
        name = "_" + name
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    _cache[key] = name
    return name


def short_hash(*parts: str) -> str:
    """Hash a raw key path into a few hex characters that keep distinct paths apart."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", errors="surrogatepass"))
    return digest.hexdigest()[:HASH_CHARS]


def name_part(key: str) -> str:
    """Return the name part for one raw key, naming keys with no usable characters by hash."""
    part = snake_case(key)
    return part if part else "key_" + short_hash(key)


def fit_name(name: str, raw_path: tuple[str, ...]) -> str:
    """Make a joined name a valid identifier of at most 63 bytes.

    A name that starts with a digit gets a leading underscore, and a name that starts with
    `_sdc` (reserved for Singer targets' own columns) loses its leading underscores. A name
    that is too long is cut and ends with a hash of the full raw path.
    """
    if name[:1].isdigit():
        name = "_" + name
    if name.startswith("_sdc"):
        name = name.lstrip("_")
    if len(name) > MAX_NAME_BYTES:
        name = name[: MAX_NAME_BYTES - HASH_CHARS - 1].rstrip("_") + "_" + short_hash(*raw_path)
    return name


def with_hash_suffix(name: str, raw_path: tuple[str, ...], salt: str = "") -> str:
    """Return a distinct name for a key whose name is taken by another key."""
    suffix = "_" + short_hash(*raw_path, salt)
    return name[: MAX_NAME_BYTES - len(suffix)].rstrip("_") + suffix
