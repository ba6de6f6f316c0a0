"""The six Segment streams and the columns each one starts a run with."""

from __future__ import annotations

import functools
import importlib.resources
import json
import logging
import typing as t

from singer_sdk import Stream

from tap_segment_webhook.shape.columns import COLUMN_TYPES, StreamColumns, column_type_from_schema

if t.TYPE_CHECKING:
    from tap_segment_webhook.tap import TapSegmentWebhook

LOGGER = logging.getLogger("tap-segment-webhook.streams")
STREAM_NAMES = ("alias", "group", "identify", "page", "screen", "track")
# alias is in the catalog, but Stitch and most warehouses have no alias table.
SELECTED_BY_DEFAULT = frozenset(STREAM_NAMES) - {"alias"}
KEY_PROPERTIES = ("message_id",)


@functools.lru_cache(maxsize=None)
def base_schema(stream: str) -> dict[str, t.Any]:
    """Load the JSON schema of a stream's standard Segment columns from the installed package."""
    text = importlib.resources.files("tap_segment_webhook.schemas").joinpath(f"{stream}.json").read_text("utf-8")
    return json.loads(text)


def _camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def build_columns(
    stream: str,
    *,
    max_columns: int,
    state_rows: t.Sequence[t.Sequence[t.Any]] = (),
    catalog_schema: dict[str, t.Any] | None = None,
    deselected: t.Collection[str] = (),
    widen: bool = False,
    quiet: bool = False,
) -> StreamColumns:
    """Build a stream's columns from its base schema, then STATE, then a catalog.

    Base columns belong to Segment's own camelCase keys (`messageId` for `message_id`), so a
    payload key never takes them. Columns in STATE keep the key path they held. Catalog columns
    are claimed by the first key whose name matches.
    """
    columns = StreamColumns(stream, max_columns=max_columns, widen=widen, quiet=quiet)
    for name, schema in base_schema(stream)["properties"].items():
        columns.add_fixed(name, column_type_from_schema(schema), (_camel_case(name),))
    for row in state_rows:
        try:
            name, column_type, path, role = row
            valid = isinstance(name, str) and column_type in COLUMN_TYPES and isinstance(role, str)
            key_path = tuple(str(part) for part in path) if path is not None else None
        except (TypeError, ValueError):
            valid = False
        if not valid:
            LOGGER.warning("Stream '%s': ignoring an invalid column in STATE: %r", stream, row)
            continue
        columns.restore(name, column_type, key_path, role)
    if catalog_schema:
        for name, schema in catalog_schema.get("properties", {}).items():
            if name not in columns.columns:
                columns.add_fixed(name, column_type_from_schema(schema), None)
    for name in deselected:
        column = columns.columns.get(name)
        if column is not None and name != KEY_PROPERTIES[0]:
            column.selected = False
    columns.schema_dirty = True
    return columns


class SegmentStream(Stream):
    """One Segment call type. The tap's single-pass driver writes its records."""

    primary_keys: t.ClassVar[list[str]] = list(KEY_PROPERTIES)
    replication_key = None

    def __init__(self, tap: TapSegmentWebhook, name: str, schema: dict[str, t.Any]) -> None:
        super().__init__(tap, schema=schema, name=name)
        self.selected_by_default = name in SELECTED_BY_DEFAULT
        self._segment_tap = tap

    def get_records(self, context: t.Any) -> t.Iterable[dict[str, t.Any]]:
        """Read the input and yield this stream's records.

        Only the SDK's test helpers call this; a normal run reads the input once for all
        streams in `TapSegmentWebhook.sync_all`.
        """
        for shaped, schema in self._segment_tap.iter_single_stream(self.name):
            if schema is not None:
                self._apply_new_schema(schema)
            yield shaped

    def _apply_new_schema(self, schema: dict[str, t.Any]) -> None:
        # Announce columns that appeared mid-sync, as the SDK documents for changing schemas.
        self._schema = schema
        if self._tap.input_catalog is not None:
            self._input_schema = schema
        self._tap.mapper.register_raw_stream_schema(self.name, schema, self.primary_keys)
        self._stream_maps = None
        self._write_schema_message()
