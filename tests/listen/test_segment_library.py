"""Segment's own Python library, pointed at the listener as its host."""

from __future__ import annotations

import pytest
from segment.analytics import Client
from segment.analytics.request import APIError

WRITE_KEY = "test-write-key"


@pytest.mark.parametrize("use_gzip", [False, True], ids=["plain", "gzip"])
def test_python_library_calls_archived(start_listener, use_gzip: bool) -> None:
    listener = start_listener(write_keys=[WRITE_KEY])
    errors: list[Exception] = []
    # host must point at the local listener, never at Segment's default host.
    client = Client(
        WRITE_KEY,
        host=listener.url,
        sync_mode=True,
        gzip=use_gzip,
        max_retries=0,
        on_error=lambda error, _batch: errors.append(error),
    )
    client.identify("user-1", {"email": "a@example.com"})
    client.track("user-1", "Order Completed", {"revenue": 42.5})
    client.page("user-1", "Docs", "Install")
    client.screen("user-1", "Home", "Start")
    client.group("user-1", "group-1", {"name": "Acme"})
    client.alias("user-1", "user-2")
    # In sync mode each call posts before it returns, and the client has no consumer
    # threads, so there is nothing to flush or shut down.
    assert errors == []

    messages = listener.archived()
    assert [message["type"] for message in messages] == ["identify", "track", "page", "screen", "group", "alias"]
    for message in messages:
        assert message["receivedAt"].endswith("Z")
        assert message["originalTimestamp"]
        assert message["timestamp"].endswith("Z")
        assert message["messageId"]
        assert message["context"]["ip"] == "127.0.0.1"
        assert message["context"]["library"]["name"] == "analytics-python"
        assert "writeKey" not in message
    assert listener.rejected() == []


def test_python_library_wrong_key_rejected(start_listener) -> None:
    listener = start_listener(write_keys=[WRITE_KEY])
    client = Client("wrong-key", host=listener.url, sync_mode=True, max_retries=0)
    with pytest.raises(APIError) as caught:
        client.track("user-1", "Order Completed")
    assert caught.value.status == 401
    assert listener.archived() == []
