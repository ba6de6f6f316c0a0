"""Clients that send slowly are cut off after `request_timeout_seconds`."""

from __future__ import annotations

import socket
import time

import orjson

BODY = orjson.dumps({"type": "track", "event": "E", "messageId": "m-1"})


def test_slow_body_gets_408_and_close(start_listener) -> None:
    listener = start_listener(request_timeout_seconds=1)
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", listener.service.bound_port), timeout=1) as connection:
        connection.sendall(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n"
        )
        received = b""
        closed = False
        # One body byte every 0.2 s would take 10 s for this body; stop after 15 s at most.
        for byte in BODY:
            try:
                connection.sendall(bytes([byte]))
                chunk = connection.recv(4096)
            except TimeoutError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                closed = True
                break
            if not chunk:
                closed = True
                break
            received += chunk
            if time.monotonic() - started > 15:
                break
    elapsed = time.monotonic() - started
    assert received.startswith(b"HTTP/1.1 408 ")
    assert b"Connection: close" in received
    assert closed
    # aiohttp reads what the client still sends for up to 10 s after the response, then closes.
    assert elapsed < 13
    assert listener.archived() == []
    assert listener.rejected() == []


def test_slow_headers_closed(start_listener) -> None:
    listener = start_listener(request_timeout_seconds=1)
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", listener.service.bound_port), timeout=0.2) as connection:
        connection.sendall(b"POST / HTTP/1.1\r\n")
        closed = False
        # One header line every 0.2 s, for at most 10 s.
        for index in range(50):
            try:
                connection.sendall(f"X-Slow-{index}: 1\r\n".encode())
                if connection.recv(4096) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                closed = True
                break
    elapsed = time.monotonic() - started
    assert closed
    # The timer runs from connecting, and aiohttp may round a timeout up to the next second.
    assert elapsed < 4


def test_idle_kept_alive_connection_closed(start_listener) -> None:
    listener = start_listener(request_timeout_seconds=1)
    with socket.create_connection(("127.0.0.1", listener.service.bound_port), timeout=5) as connection:
        connection.sendall(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
        )
        first = connection.recv(4096)
        assert first.startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        assert connection.recv(4096) == b""
        assert time.monotonic() - started < 4


def test_fast_body_within_timeout_accepted(start_listener) -> None:
    listener = start_listener(request_timeout_seconds=2)
    with socket.create_connection(("127.0.0.1", listener.service.bound_port), timeout=5) as connection:
        connection.sendall(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n"
        )
        time.sleep(0.5)
        connection.sendall(BODY)
        assert connection.recv(4096).startswith(b"HTTP/1.1 200 ")
