"""`ListenerService.stop_intake`: 503 for every new request, no new connections, no blocking."""

from __future__ import annotations

import http.client
import threading
import time

import orjson
import pytest
import requests

BODY = orjson.dumps({"type": "track", "event": "E", "messageId": "m-1"})
HEADERS = {"Content-Type": "application/json"}


def test_kept_alive_connection_gets_503(start_listener) -> None:
    listener = start_listener()
    connection = http.client.HTTPConnection("127.0.0.1", listener.service.bound_port, timeout=10)
    try:
        connection.request("POST", "/", BODY, HEADERS)
        first = connection.getresponse()
        first.read()
        assert first.status == 200
        listener.service.stop_intake()
        connection.request("POST", "/", BODY, HEADERS)
        second = connection.getresponse()
        payload = orjson.loads(second.read())
    finally:
        connection.close()
    assert second.status == 503
    assert second.getheader("Retry-After") == "5"
    assert second.getheader("Connection") == "close"
    assert second.getheader("X-Request-Id")
    assert payload["code"] == "shutting_down"
    assert len(listener.archived()) == 1
    assert listener.service.intake_stopped is True


def test_new_connections_refused(start_listener) -> None:
    listener = start_listener()
    listener.service.stop_intake()
    deadline = time.monotonic() + 5
    refused = False
    while time.monotonic() < deadline:
        try:
            response = requests.post(listener.url + "/", data=BODY, headers=HEADERS, timeout=2)
        except requests.ConnectionError:
            refused = True
            break
        # A connection accepted before the socket closed still gets 503.
        assert response.status_code == 503
        time.sleep(0.05)
    assert refused
    assert listener.archived() == []


@pytest.mark.parametrize("path", ["/", "/v1/track", "/health", "/unknown"])
def test_every_path_gets_503(start_listener, path: str) -> None:
    listener = start_listener()
    connection = http.client.HTTPConnection("127.0.0.1", listener.service.bound_port, timeout=10)
    try:
        connection.connect()
        listener.service.stop_intake()
        connection.request("POST", path, BODY, HEADERS)
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    assert response.status == 503


def test_stop_intake_does_not_wait_for_listener_thread(start_listener) -> None:
    listener = start_listener()
    # The listener's event loop is blocked, as it would be by a slow fsync callback.
    release = threading.Event()
    loop = listener.service._loop  # noqa: SLF001 - the test blocks the loop on purpose
    loop.call_soon_threadsafe(release.wait, 5)
    started = time.monotonic()
    listener.service.stop_intake()
    listener.service.stop_intake()
    elapsed = time.monotonic() - started
    release.set()
    assert elapsed < 0.5


def test_stop_after_stop_intake_keeps_archive(start_listener) -> None:
    listener = start_listener()
    assert requests.post(listener.url + "/", data=BODY, headers=HEADERS, timeout=10).status_code == 200
    listener.service.stop_intake()
    listener.service.stop(5)
    listener.service.stop_intake()
    assert listener.service.running is False
    assert len(listener.archived()) == 1
