"""Run the tap with `python -m tap_segment_webhook`."""

from tap_segment_webhook.cli import run

run()
