"""Convert NDJSON Segment messages to Singer RECORD lines without singer-sdk.

This is the reference point for the replay benchmark: roughly what a hand-rolled pipeline does
in the fewest steps. Each line is parsed with orjson, nested objects are flattened into
``parent__child`` names, every name part is snake_cased with regular expressions, arrays become
compact JSON text, and one ``{"type": "RECORD", "stream": <message type>, "record": {...}}``
line per message goes to stdout.

It does none of the tap's other work: no SCHEMA or STATE messages, no type checks or splits,
no timestamp parsing, no duplicate skipping, no rejects and no name-length limit.

By default every key is converted again on every message, as a straightforward script does.
With ``--cache-names`` each distinct key is converted once, which removes most of the cost,
because the regular expressions take about 80% of the default run's time (cProfile, on the
corpus from corpus.py).

Usage::

    python benchmarks/baseline.py [--cache-names] CORPUS.ndjson > /dev/null
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
from typing import Callable

import orjson

_LOWER_OR_DIGIT_BEFORE_UPPER = re.compile(r"([a-z0-9])([A-Z])")
_UPPER_RUN_BEFORE_WORD = re.compile(r"([A-Z]+)([A-Z][a-z])")
_NOT_NAME_CHARACTER = re.compile(r"[^a-z0-9]+")


def snake_case(name: str) -> str:
    """Convert ``pageURL`` to ``page_url`` and ``Order Completed`` to ``order_completed``."""
    name = _UPPER_RUN_BEFORE_WORD.sub(r"\1_\2", name)
    name = _LOWER_OR_DIGIT_BEFORE_UPPER.sub(r"\1_\2", name)
    return _NOT_NAME_CHARACTER.sub("_", name.lower()).strip("_")


def flatten(value: dict, prefix: str, record: dict, to_name: Callable[[str], str]) -> None:
    """Add the leaves of ``value`` to ``record`` under ``prefix``-joined names from ``to_name``."""
    for key, item in value.items():
        name = prefix + to_name(key)
        if isinstance(item, dict):
            flatten(item, name + "__", record, to_name)
        elif isinstance(item, list):
            record[name] = orjson.dumps(item).decode()
        else:
            record[name] = item


def convert(lines, output, to_name: Callable[[str], str] = snake_case) -> int:
    """Write one RECORD line to ``output`` per JSON object in ``lines`` and return the count."""
    count = 0
    for line in lines:
        message = orjson.loads(line)
        record: dict = {}
        flatten(message, "", record, to_name)
        output.write(orjson.dumps({"type": "RECORD", "stream": message.get("type"), "record": record}))
        output.write(b"\n")
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Convert NDJSON Segment messages to Singer RECORD lines on stdout.")
    parser.add_argument("corpus", help="NDJSON file with one Segment message per line")
    parser.add_argument("--cache-names", action="store_true", help="convert each distinct key to snake_case only once")
    args = parser.parse_args(argv)

    to_name = functools.lru_cache(maxsize=None)(snake_case) if args.cache_names else snake_case
    with open(args.corpus, "rb") as lines:
        convert(lines, sys.stdout.buffer, to_name)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
