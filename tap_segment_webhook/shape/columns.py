"""The columns of one stream: names, types, the raw key path each one holds, and the budget.

A column's type never changes once it is emitted. Names are claimed first come, first served;
a later key whose name is taken gets a hash suffix and a warning names both raw keys.
"""

from __future__ import annotations

import dataclasses
import logging
import typing as t

from tap_segment_webhook.shape.naming import with_hash_suffix

LOGGER = logging.getLogger("tap-segment-webhook.columns")

STRING = "string"
NUMBER = "number"
BOOLEAN = "boolean"
DATE_TIME = "date-time"
OBJECT = "object"
COLUMN_TYPES = (STRING, NUMBER, BOOLEAN, DATE_TIME, OBJECT)
# Types that fit losslessly into a string column, as their JSON text.
TEXT_COMPATIBLE = frozenset({NUMBER, BOOLEAN})
OVERFLOW_COLUMN = "_overflow"
KEY_COLUMN = "message_id"

Path = t.Tuple[str, ...]


def json_schema_for(column_type: str, *, required: bool = False) -> dict[str, t.Any]:
    """Return the JSON schema of a column of the given type."""
    if column_type == DATE_TIME:
        schema: dict[str, t.Any] = {"type": ["string", "null"], "format": "date-time"}
    else:
        schema = {"type": [column_type, "null"]}
    if required:
        schema["type"] = [schema["type"][0]]
    return schema


def column_type_from_schema(schema: dict[str, t.Any]) -> str:
    """Read a column type from a catalog's JSON schema, choosing the widest declared type."""
    declared = schema.get("type", [])
    types = {declared} if isinstance(declared, str) else set(declared)
    if not types and "anyOf" in schema:
        for option in schema["anyOf"]:
            option_type = option.get("type")
            types.update([option_type] if isinstance(option_type, str) else option_type or [])
    types.discard("null")
    if schema.get("format") == "date-time" and types <= {STRING}:
        return DATE_TIME
    if OBJECT in types and len(types) == 1:
        return OBJECT
    if types <= {"number", "integer"} and types:
        return NUMBER
    if types == {BOOLEAN}:
        return BOOLEAN
    return STRING


@dataclasses.dataclass(slots=True)
class Column:
    """One column: its name, type, and the raw key path and role it holds."""

    name: str
    type: str
    # None for a column declared by a catalog whose key has not been seen yet.
    path: Path | None
    # "" for the key's main column, else the value type of a type-split sibling column.
    role: str = ""
    selected: bool = True


class StreamColumns:
    """All columns of one stream, in the order they were added."""

    def __init__(self, stream: str, *, max_columns: int, widen: bool = False, quiet: bool = False) -> None:
        self.stream = stream
        # Sampling at start-up reads messages again later, so it does not warn twice.
        self.quiet = quiet
        self.max_columns = max_columns
        # Discovery widens a column to string on a type conflict instead of splitting it.
        self.widen = widen
        self.columns: dict[str, Column] = {}
        self._by_owner: dict[tuple[Path, str], Column] = {}
        self.schema_dirty = True
        self.columns_added = 0
        self.type_splits = 0
        self.overflowed_keys = 0

    def add_fixed(self, name: str, column_type: str, path: Path | None) -> Column:
        """Add a column known before any data, from the stream's base schema, a catalog or STATE."""
        column = self.columns.get(name)
        if column is None:
            role = "overflow" if name == OVERFLOW_COLUMN else ""
            column = Column(name, column_type, path, role)
            self.columns[name] = column
        elif column.path is None and path is not None:
            column.path = path
        if column.path is not None:
            self._by_owner.setdefault((column.path, column.role), column)
        return column

    def restore(self, name: str, column_type: str, path: Path | None, role: str) -> None:
        """Add a column remembered in STATE, with the path and role it held."""
        column = Column(name, column_type, path, role)
        self.columns[name] = column
        if path is not None:
            self._by_owner[(path, role)] = column

    def lookup(self, path: Path, role: str = "") -> Column | None:
        return self._by_owner.get((path, role))

    def _budget_left(self) -> bool:
        return len(self.columns) < self.max_columns

    def budget_used_up(self) -> bool:
        """Return True when no more columns can be added, so new keys go to the overflow column."""
        return len(self.columns) >= self.max_columns

    def claim(self, name: str, path: Path, role: str, column_type: str) -> Column | None:
        """Return the column for a key path and role, adding it if needed.

        Returns None when the stream's column budget is used up, so the value goes to the
        overflow column.
        """
        owned = self._by_owner.get((path, role))
        if owned is not None:
            return owned
        existing = self.columns.get(name)
        if existing is not None and existing.path is None and existing.role == "":
            # A catalog declared this name; the first key that maps to it takes it.
            existing.path = path
            existing.role = role
            self._by_owner[(path, role)] = existing
            return existing
        if not self._budget_left():
            self.overflowed_keys += 1
            return None
        if existing is not None or name == OVERFLOW_COLUMN:
            # The overflow column's name is reserved even before the budget is used up.
            natural_name = name
            salt = role
            attempt = 0
            while name in self.columns or name == OVERFLOW_COLUMN:
                name = with_hash_suffix(natural_name, path, salt)
                attempt += 1
                salt = f"{role}{attempt}"
            LOGGER.log(
                logging.DEBUG if self.quiet else logging.WARNING,
                "Stream '%s': key %s and key %s both map to column '%s'; the later one is "
                "written to '%s'.",
                self.stream,
                ".".join(existing.path) if existing is not None and existing.path else "(reserved)",
                ".".join(path),
                natural_name,
                name,
            )
        column = Column(name, column_type, path, role)
        self.columns[name] = column
        self._by_owner[(path, role)] = column
        self.schema_dirty = True
        self.columns_added += 1
        if role:
            self.type_splits += 1
        return column

    def overflow_column(self) -> Column:
        """Return the column that contains keys past the budget as JSON text, adding it if needed."""
        column = self.columns.get(OVERFLOW_COLUMN)
        if column is None:
            column = Column(OVERFLOW_COLUMN, STRING, None, "overflow")
            self.columns[OVERFLOW_COLUMN] = column
            self.schema_dirty = True
            self.columns_added += 1
        return column

    def widen_to_string(self, column: Column) -> None:
        if column.type != STRING:
            column.type = STRING
            self.schema_dirty = True

    def json_schema(self) -> dict[str, t.Any]:
        """Return the stream's JSON schema with every selected column."""
        properties = {
            name: json_schema_for(column.type, required=name == KEY_COLUMN)
            for name, column in self.columns.items()
            if column.selected
        }
        return {"type": "object", "properties": properties, "required": [KEY_COLUMN]}

    def to_state(self) -> list[list[t.Any]]:
        """Return the columns as compact rows for STATE: name, type, raw path, role."""
        return [
            [column.name, column.type, list(column.path) if column.path is not None else None, column.role]
            for column in self.columns.values()
        ]
