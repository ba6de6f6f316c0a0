"""The singer-sdk standard tap tests, run on a small fixture with one event per stream."""

from __future__ import annotations

import tempfile
from pathlib import Path

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tap_segment_webhook.tap import TapSegmentWebhook

FIXTURE = Path(__file__).parent / "fixtures" / "sdk_standard"

# The standard tests run the tap inside the pytest process. The rejects file
# goes to a temporary folder, not to the folder where pytest started.
REJECTS = Path(tempfile.mkdtemp(prefix="sdk-standard-")) / "rejects.ndjson"

TestTapSegmentWebhook = get_tap_test_class(
    TapSegmentWebhook,
    config={"input_paths": [str(FIXTURE)], "rejects_path": str(REJECTS)},
    suite_config=SuiteConfig(max_records_limit=150),
    # Settings come only from the config above, never from TAP_SEGMENT_WEBHOOK_*
    # variables or a .env file of the developer's shell.
    parse_env_config=False,
)
