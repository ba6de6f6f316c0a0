"""Shape a normalized message into one record of flat, typed columns.

flat: nested objects become `parent__child` columns down to a depth limit, arrays and deeper
objects become JSON text. segment: the same with Segment Warehouses names, joined with one `_`
and without the `properties` and `traits` prefix. nested: top-level objects stay JSON objects. In both styles a value
whose type does not fit its column goes to a sibling column `<column>__<type>`, except numbers
and booleans, which fit a string column as their JSON text.

Each key path keeps a small cache from the Python type of its value to the target column, so
the common case costs one dictionary lookup per value.
"""

from __future__ import annotations

import typing as t
from decimal import Decimal

from tap_segment_webhook.decode.parse import dumps
from tap_segment_webhook.normalize.timestamps import parse_timestamp, parse_timestamp_text
from tap_segment_webhook.shape.columns import (
    BOOLEAN,
    DATE_TIME,
    NUMBER,
    OBJECT,
    STRING,
    TEXT_COMPATIBLE,
    Column,
    Path,
    StreamColumns,
)
from tap_segment_webhook.shape.naming import PATH_SEPARATOR, fit_name, name_part

FLAT = "flat"
NESTED = "nested"
SEGMENT = "segment"
COLUMN_STYLES = (FLAT, NESTED, SEGMENT)
# In segment style, keys of these objects become columns without the object's name.
UNPREFIXED_OBJECTS = frozenset({"properties", "traits"})
# Column names of Segment Warehouses' own columns. A property or trait with one of these names,
# or a name starting with `context_`, is written with a leading underscore, as Segment's
# Redshift loader does for reserved names.
SEGMENT_RESERVED_NAMES = frozenset(
    {
        "anonymous_id", "category", "channel", "context", "event", "event_text", "group_id", "id",
        "integrations", "loaded_at", "message_id", "name", "original_timestamp", "previous_id",
        "project_id", "received_at", "sent_at", "timestamp", "type", "user_id", "uuid", "uuid_ts",
        "version",
    }
)
TIMESTAMP_KEYS = ("timestamp", "originalTimestamp", "sentAt", "receivedAt")
DEFAULT_MAX_DEPTH = 10
# Cached key paths per column of budget; objects along a path and type splits need a few more
# nodes than columns.
NODES_PER_COLUMN = 8

# A converter returns None when a value does not fit its column (null values never reach one).
_MISFIT = None
_OVERFLOW = "\x00overflow"
Converter = t.Optional[t.Callable[[t.Any], t.Any]]
Slot = t.Tuple[t.Optional[str], Converter]


def json_text(value: t.Any) -> str:
    return dumps(value).decode()


def _scalar_text(value: t.Any) -> str:
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    return json_text(value)




def _chain(first: Converter, second: t.Callable[[t.Any], t.Any]) -> Converter:
    if first is None:
        return second

    def convert(value: t.Any) -> t.Any:
        converted = first(value)
        return converted if converted is _MISFIT else second(converted)

    return convert


class Node:
    """One raw key path, with the column chosen for each Python type seen there."""

    __slots__ = ("base_name", "children", "depth", "direct", "is_timestamp", "path", "primary", "slots")

    def __init__(self, path: Path, base_name: str, depth: int, is_timestamp: bool) -> None:
        self.path = path
        self.base_name = base_name
        self.depth = depth
        self.is_timestamp = is_timestamp
        self.children: dict[str, Node] = {}
        self.slots: dict[type, Slot] = {}
        # The subset of slots whose values go to a column unchanged: the common, fast case.
        self.direct: dict[type, str] = {}
        self.primary: Column | None = None


class Shaper:
    """Turn the messages of one stream into records, adding columns as keys appear."""

    def __init__(
        self,
        columns: StreamColumns,
        *,
        column_style: str = FLAT,
        max_depth: int = DEFAULT_MAX_DEPTH,
    ) -> None:
        self.columns = columns
        self.column_style = column_style
        self.max_depth = max_depth
        self.root = Node((), "", 0, False)
        self.type_conversions = 0
        self._cached_nodes = 0
        self._max_cached_nodes = NODES_PER_COLUMN * max(columns.max_columns, 1)

    # Key paths and names.

    def _joined_name(self, parent: Node, part: str) -> str:
        if not parent.path:
            return part
        if self.column_style != SEGMENT:
            return parent.base_name + PATH_SEPARATOR + part
        if len(parent.path) == 1 and parent.path[0] in UNPREFIXED_OBJECTS:
            reserved = part in SEGMENT_RESERVED_NAMES or part.startswith("context_")
            return "_" + part if reserved else part
        return parent.base_name + "_" + part

    def _child(self, parent: Node, key: str) -> Node:
        part = name_part(key)
        path = parent.path + (key,)
        base_name = fit_name(self._joined_name(parent, part), path)
        node = Node(path, base_name, parent.depth + 1, not parent.path and key in TIMESTAMP_KEYS)
        node.primary = self.columns.lookup(path)
        # Keys past the column budget, or an endless variety of keys that are only ever null,
        # get a node for this message only, so memory stays bounded.
        if self._cached_nodes < self._max_cached_nodes and (node.primary is not None or not self.columns.budget_used_up()):
            parent.children[key] = node
            self._cached_nodes += 1
        return node

    # Choosing a column for a value.

    def _value_kind(self, node: Node, value: t.Any) -> tuple[str, Converter]:
        kind = type(value)
        if kind is bool:
            return BOOLEAN, None
        if kind is int or kind is float or kind is Decimal:
            if node.is_timestamp:
                return DATE_TIME, parse_timestamp
            return NUMBER, None
        if kind is str:
            if node.is_timestamp:
                return DATE_TIME, parse_timestamp_text
            return STRING, None
        if kind is dict and self.column_style == NESTED and node.depth == 1:
            return OBJECT, None
        return STRING, json_text

    def _split(self, node: Node, primary: Column, kind: str) -> Column | None:
        return self.columns.claim(
            fit_name(f"{primary.name}__{kind.replace('-', '_')}", node.path + (kind,)),
            node.path,
            kind,
            kind,
        )

    def _resolve(self, node: Node, value: t.Any) -> tuple[Slot, bool]:
        """Choose the column and converter for a value; the bool is True when the choice may be cached."""
        kind, convert = self._value_kind(node, value)
        misfit_kind = None
        if kind == DATE_TIME and convert is not None and convert(value) is _MISFIT:
            # Not a timestamp: the value keeps its own JSON type, without conversion.
            misfit_kind = NUMBER if not isinstance(value, str) else STRING
        primary = node.primary
        if primary is None:
            primary = self.columns.claim(node.base_name, node.path, "", misfit_kind or kind)
            if primary is None:
                return (_OVERFLOW, None), True
            node.primary = primary
        if misfit_kind is not None:
            kind, convert = misfit_kind, None
        if not primary.selected:
            return (None, None), misfit_kind is None
        if primary.type == kind:
            return (primary.name, convert), misfit_kind is None
        if primary.type == STRING and kind in TEXT_COMPATIBLE | {DATE_TIME, OBJECT}:
            self.type_conversions += 1
            return (primary.name, _chain(convert, _scalar_text)), misfit_kind is None
        if self.columns.widen and {primary.type, kind} <= TEXT_COMPATIBLE | {STRING}:
            self.columns.widen_to_string(primary)
            node.slots.clear()
            node.direct.clear()
            return (primary.name, _chain(convert, _scalar_text)), False
        split = self._split(node, primary, kind)
        if split is None:
            return (_OVERFLOW, None), True
        return (split.name, convert), misfit_kind is None

    # Walking a message.

    def _place(self, node: Node, value: t.Any, record: dict[str, t.Any], overflow: dict[str, t.Any]) -> None:
        slot = node.slots.get(type(value))
        if slot is not None:
            name, convert = slot
            if convert is None:
                if name is not None:
                    if name is _OVERFLOW:
                        overflow[".".join(node.path)] = value
                    else:
                        record[name] = value
                return
            converted = convert(value)
            if converted is not _MISFIT:
                if name is _OVERFLOW:
                    overflow[".".join(node.path)] = value
                elif name is not None:
                    record[name] = converted
                return
        (name, convert), cacheable = self._resolve(node, value)
        if cacheable:
            node.slots[type(value)] = (name, convert)
            if convert is None and name is not None and name is not _OVERFLOW:
                node.direct[type(value)] = name
        if name is None:
            return
        if name is _OVERFLOW:
            overflow[".".join(node.path)] = value
            return
        record[name] = value if convert is None else convert(value)

    def _walk_flat(self, parent: Node, obj: dict[str, t.Any], record: dict[str, t.Any], overflow: dict[str, t.Any]) -> None:
        children = parent.children
        max_depth = self.max_depth
        for key, value in obj.items():
            if value is None:
                continue
            node = children.get(key)
            if node is None:
                node = self._child(parent, key)
            kind = type(value)
            if kind is dict and value and node.depth < max_depth:
                self._walk_flat(node, value, record, overflow)
                continue
            name = node.direct.get(kind)
            if name is not None:
                record[name] = value
                continue
            slot = node.slots.get(kind)
            if slot is not None:
                # Converted values, such as timestamps and arrays, without a call to _place.
                name, convert = slot
                if convert is not None and name is not None and name is not _OVERFLOW:
                    converted = convert(value)
                    if converted is not _MISFIT:
                        record[name] = converted
                        continue
            self._place(node, value, record, overflow)

    def _walk_nested(self, obj: dict[str, t.Any], record: dict[str, t.Any], overflow: dict[str, t.Any]) -> None:
        root = self.root
        children = root.children
        for key, value in obj.items():
            if value is None:
                continue
            node = children.get(key)
            if node is None:
                node = self._child(root, key)
            name = node.direct.get(type(value))
            if name is not None:
                record[name] = value
            else:
                self._place(node, value, record, overflow)

    def shape(self, message: dict[str, t.Any]) -> dict[str, t.Any]:
        """Return the record for one message; new columns set `columns.schema_dirty`."""
        record: dict[str, t.Any] = {}
        overflow: dict[str, t.Any] = {}
        if self.column_style == NESTED:
            self._walk_nested(message, record, overflow)
        else:
            self._walk_flat(self.root, message, record, overflow)
        if overflow:
            record[self.columns.overflow_column().name] = json_text(overflow)
        return record
