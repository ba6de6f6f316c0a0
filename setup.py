"""Packaging for tap-segment-webhook.

The JSON schemas live in the top-level ``schemas/`` folder and are installed as the
``tap_segment_webhook.schemas`` package, so an installed wheel finds them with
``importlib.resources``.
"""

from setuptools import setup

TEST_REQUIREMENTS = [
    "pytest>=8",
    "hypothesis>=6.100",
    "meltanolabs-target-postgres==0.8.1",
    "segment-analytics-python>=2.3",
    "psycopg[binary]>=3.1",
    "requests>=2.31",
    "build>=1.0",
    "wheel>=0.42",
]

setup(
    name="tap-segment-webhook",
    version="0.1.0",
    description="Singer tap for Segment events from webhooks, Tracking API clients and payload archives",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=[
        "tap_segment_webhook",
        "tap_segment_webhook.decode",
        "tap_segment_webhook.normalize",
        "tap_segment_webhook.shape",
        "tap_segment_webhook.emit",
        "tap_segment_webhook.state",
        "tap_segment_webhook.report",
        "tap_segment_webhook.listen",
        "tap_segment_webhook.schemas",
    ],
    package_dir={"tap_segment_webhook.schemas": "schemas"},
    package_data={"tap_segment_webhook.schemas": ["*.json"]},
    install_requires=[
        "singer-sdk>=0.54,<0.55",
        "click>=8.1",
        "requests>=2.31",
        "jsonschema>=4.20",
        "orjson>=3.10",
        "aiohttp>=3.9",
    ],
    extras_require={"test": TEST_REQUIREMENTS},
    entry_points={
        "console_scripts": [
            "tap-segment-webhook=tap_segment_webhook.cli:run",
        ],
    },
)
