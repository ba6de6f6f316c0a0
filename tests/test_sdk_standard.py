"""The singer-sdk standard tap tests, run on a small fixture with one event per stream.

Two configurations run the suite: config only, as a user runs the tap by
hand, and with a catalog from discovery that selects every stream, as Meltano
runs it.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tap_segment_webhook.tap import TapSegmentWebhook

FIXTURE = Path(__file__).parent / "fixtures" / "sdk_standard"

# The standard tests run the tap inside the pytest process. The rejects file
# goes to a temporary folder, not to the folder where pytest started.
REJECTS = Path(tempfile.mkdtemp(prefix="sdk-standard-")) / "rejects.ndjson"

CONFIG = {"input_paths": [str(FIXTURE)], "rejects_path": str(REJECTS)}


def discovered_catalog_selecting_all() -> dict:
    """Run discovery on the fixture and select every stream, alias included."""
    tap = TapSegmentWebhook(config=CONFIG, parse_env_config=False)
    # run_discovery prints the catalog as well as returning it.
    with contextlib.redirect_stdout(io.StringIO()):
        catalog = json.loads(tap.run_discovery())
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = True
    return catalog


TestTapSegmentWebhook = get_tap_test_class(
    TapSegmentWebhook,
    config=CONFIG,
    suite_config=SuiteConfig(max_records_limit=150),
    # Settings come only from CONFIG, never from TAP_SEGMENT_WEBHOOK_*
    # variables or a .env file of the developer's shell.
    parse_env_config=False,
)

# The SDK's dry run forces every stream to be selected, but this check reads
# the schema of a new tap with the default selection, where the mapper keeps
# no properties of the unselected alias stream. The catalog run below checks
# alias with alias selected.
TestTapSegmentWebhook.params["test_tap_stream_record_schema_matches_transformed_catalog"] = [
    param
    for param in TestTapSegmentWebhook.params[
        "test_tap_stream_record_schema_matches_transformed_catalog"
    ]
    if param.id != "alias"
]

TestTapSegmentWebhookWithCatalog = get_tap_test_class(
    TapSegmentWebhook,
    config=CONFIG,
    suite_config=SuiteConfig(max_records_limit=150),
    parse_env_config=False,
    catalog=discovered_catalog_selecting_all(),
)
