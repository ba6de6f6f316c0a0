"""tap-segment-webhook: Segment events from payload files or a webhook listener, as Singer streams."""

from __future__ import annotations

import os
import typing as t

from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import PluginCapabilities, TapCapabilities

from tap_segment_webhook.decode.inputs import InputFile, resolve_inputs
from tap_segment_webhook.report.rejects import RejectsWriter
from tap_segment_webhook.report.summary import RunReport
from tap_segment_webhook.settings import SETTINGS
from tap_segment_webhook.streams import STREAM_NAMES, SegmentStream
from tap_segment_webhook.sync import SyncDriver, build_pipeline, shape_inputs

# Messages read at start-up to give the streams' schemas their first columns.
STARTUP_SAMPLE_MESSAGES = 1000


def _valid_state_parts(state: t.Any, logger: t.Any) -> dict[str, t.Any]:
    """Return the parts of an input STATE that have the shape the tap writes; warn about the rest."""
    if not isinstance(state, dict):
        logger.warning("Ignoring the --state value: expected a JSON object, got %s", type(state).__name__)
        return {}
    valid = dict(state)
    shapes = {
        "bookmarks": lambda value: all(isinstance(entry, dict) for entry in value.values()),
        "replay": lambda value: isinstance(value.get("files", {}), dict)
        and all(isinstance(entry, dict) for entry in value.get("files", {}).values()),
        "listen": lambda value: isinstance(value.get("segments", {}), dict)
        and all(
            isinstance(entry, dict) and all(isinstance(entry.get(key, 0), int) for key in ("offset", "line"))
            for entry in value.get("segments", {}).values()
        ),
    }
    for key, has_shape in shapes.items():
        if key in valid and not (isinstance(valid[key], dict) and has_shape(valid[key])):
            logger.warning("Ignoring '%s' in the --state value: it does not have the shape this tap writes", key)
            del valid[key]
    return valid


class TapSegmentWebhook(Tap):
    """Singer tap for Segment events: group, identify, page, screen, track, and alias."""

    name = "tap-segment-webhook"
    config_jsonschema = SETTINGS.to_dict()

    # The tap emits no ACTIVATE_VERSION or BATCH messages: event streams are append-and-upsert.
    capabilities: t.ClassVar[list[t.Any]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        self._input_state: dict[str, t.Any] = {}
        self._sample_input = False
        super().__init__(*args, **kwargs)

    def secret_values(self) -> list[str]:
        """Return the configured secrets as text, so that messages and rejects can redact them."""
        values: list[t.Any] = [self.config.get("shared_secret")]
        write_keys = self.config.get("write_keys")
        values.extend(write_keys if isinstance(write_keys, list) else [write_keys])
        return [str(value) for value in values if value not in (None, "")]

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # jsonschema's messages quote the invalid value, which may be a secret.
        try:
            return super()._validate_config(raise_errors=raise_errors)
        except ConfigValidationError as error:
            secrets = self.secret_values()
            errors = []
            for message in error.errors:
                for secret in secrets:
                    message = message.replace(secret, "[redacted]")
                errors.append(message)
            raise ConfigValidationError(str(error), errors=errors, schema=error.schema) from None

    @property
    def input_state(self) -> dict[str, t.Any]:
        """The STATE passed with `--state`, with every key the tap wrote, not only bookmarks."""
        return self._input_state

    def load_state(self, state: dict[str, t.Any]) -> None:
        if isinstance(state, dict) and state.get("type") == "STATE" and isinstance(state.get("value"), dict):
            # A whole STATE message was saved instead of its value; its value is the state.
            self.logger.warning("The --state file contains a whole STATE message; using its 'value' as the state")
            state = state["value"]
        state = _valid_state_parts(state, self.logger)
        super().load_state(state)
        self._input_state = state

    def discover_streams(self) -> list[SegmentStream]:
        """Return the streams with columns sampled from the configured input.

        `--discover` samples up to `discover_sample_size` messages. Without an input catalog,
        the streams' own schemas, which the SDK's per-stream test helpers compare records
        with, come from the first few messages. A sync reads the input once more for that;
        its SCHEMA messages come from the data itself.
        """
        if self._sample_input:
            schemas = self._sampled_schemas(int(self.config.get("discover_sample_size", 100_000) or 0))
        elif self.input_catalog is None:
            schemas = self._sampled_schemas(STARTUP_SAMPLE_MESSAGES)
        else:
            schemas = None
        streams = []
        for name in STREAM_NAMES:
            if schemas is not None:
                schema = schemas[name]
            else:
                from tap_segment_webhook.streams import base_schema

                schema = base_schema(name)
            streams.append(SegmentStream(self, name, schema))
        return streams

    def run_discovery(self) -> str:
        self._sample_input = True
        self._streams = None
        self._catalog = None
        return super().run_discovery()

    def _sampled_schemas(self, limit: int) -> dict[str, dict[str, t.Any]]:
        report = RunReport()
        pipeline = build_pipeline(
            self,
            selected=STREAM_NAMES,
            rejects=RejectsWriter(None),
            report=report,
            widen=True,
            use_catalog=False,
            quiet=not self._sample_input,
        )
        patterns = [p for p in self.config.get("input_paths") or [] if p != "-"]
        if self.config.get("mode") == "listen":
            patterns = [self.config.get("archive_dir", "segment-archive")]
        try:
            inputs = resolve_inputs(patterns)
        except FileNotFoundError as error:
            if self._sample_input:
                self.logger.warning("Discovery found no input to sample: %s", error)
            inputs = []
        sampled = 0

        def skip_unreadable(item: InputFile, error: OSError) -> None:
            # The sync reports unreadable inputs; sampling only needs the readable ones.
            self.logger.debug("Not sampling input '%s': %s", item.path, error)

        for _ in shape_inputs(pipeline, inputs, on_unreadable=skip_unreadable):
            sampled += 1
            if limit and sampled >= limit:
                break
        self.logger.debug("Sampled %d messages from %d inputs for the stream schemas", sampled, len(inputs))
        return {name: columns.json_schema() for name, columns in pipeline.columns.items()}

    def iter_single_stream(self, stream: str) -> t.Iterator[tuple[dict[str, t.Any], dict[str, t.Any] | None]]:
        """Yield one stream's records, and the new schema when columns were added.

        Used by the SDK's per-stream sync, which `--test` and the SDK's standard tests call.
        """
        report = RunReport()
        pipeline = build_pipeline(self, selected=[stream], rejects=RejectsWriter(None), report=report)
        columns = pipeline.columns[stream]
        columns.schema_dirty = False
        if self.config.get("mode") == "listen":
            archive_dir = self.config.get("archive_dir") or "segment-archive"
            # An archive that does not exist yet contains no records to test with.
            inputs = resolve_inputs([archive_dir]) if os.path.isdir(archive_dir) else []
        else:
            inputs = resolve_inputs(self.config.get("input_paths") or [])
        for shaped in shape_inputs(pipeline, inputs):
            schema = columns.json_schema() if shaped.schema_changed else None
            columns.schema_dirty = False
            yield shaped.record, schema

    def sync_all(self) -> None:
        """Read the input once and write SCHEMA, RECORD and STATE of all streams, interleaved."""
        SyncDriver(self).run()


if __name__ == "__main__":
    TapSegmentWebhook.cli()
