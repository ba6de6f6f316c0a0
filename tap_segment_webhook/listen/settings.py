"""Listener settings, read from the tap's config dict and checked before anything binds."""

from __future__ import annotations

import dataclasses
import ipaddress
import typing as t

MIB = 1024 * 1024
BATCH_SIGNATURE_MODES = ("first_element", "whole_body")


class ListenConfigError(ValueError):
    """A listener setting is invalid or unsafe."""


class ListenerStartError(RuntimeError):
    """The listener could not start, for example because the port is in use.

    Defined here rather than next to the server, so the command line can catch it without
    importing aiohttp in replay mode.
    """


@dataclasses.dataclass(frozen=True)
class ListenSettings:
    """Settings of the HTTP listener and its archive; sizes are bytes and durations seconds."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    archive_dir: str = "./segment-archive"
    # Key of Segment's X-Signature HMAC-SHA1. None disables signature checks.
    shared_secret: str | None = None
    # Accepted write keys; empty disables write-key checks.
    write_keys: frozenset[str] = frozenset()
    # Permit binding a non-loopback address with neither a shared secret nor write keys.
    allow_unauthenticated_public: bool = False
    # Path of the Segment Webhooks destination endpoint.
    webhook_path: str = "/"
    # Request body as received, before decompression. Segment's Tracking API takes 500 KB per
    # batch and Webhooks (Actions) batches may hold up to 4,000 events of up to 32 KB.
    max_body_bytes: int = 16 * MIB
    # Body after gzip or deflate decompression.
    max_decompressed_bytes: int = 64 * MIB
    # A segment file is closed and a new one started past either limit.
    archive_segment_max_bytes: int = 64 * MIB
    archive_segment_max_seconds: float = 300.0
    # Total size of the segment files in archive_dir past which requests get 503; None is no limit.
    archive_max_bytes: int | None = None
    # Free space to leave on the archive's file system; below it requests get 503.
    archive_min_free_bytes: int = 256 * MIB
    # Time allowed for in-flight requests to finish when the listener stops.
    shutdown_timeout_seconds: float = 10.0
    # Time a client has to send the request headers, counted from connecting or from the
    # previous response, and again to send the whole body.
    request_timeout_seconds: float = 30.0
    # Which X-Signature of a JSON array is accepted: "first_element" also accepts a signature
    # of the first element alone, as Segment's batching Webhooks (Actions) send it, and
    # "whole_body" accepts only a signature of the whole raw body.
    batch_signature: str = "first_element"

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> ListenSettings:
        """Build settings from the tap config dict; absent or null keys take the defaults."""
        defaults = cls()
        values: dict[str, t.Any] = {}
        for field in dataclasses.fields(cls):
            value = config.get(field.name)
            values[field.name] = getattr(defaults, field.name) if value is None else value
        write_keys = values["write_keys"]
        if isinstance(write_keys, str):
            write_keys = [write_keys]
        values["write_keys"] = frozenset(key for key in write_keys if key)
        if values["shared_secret"] == "":
            values["shared_secret"] = None
        settings = cls(**values)
        settings.validate()
        return settings

    @property
    def authenticated(self) -> bool:
        """True when requests must carry a signature or a write key."""
        return self.shared_secret is not None or bool(self.write_keys)

    def validate(self) -> None:
        """Raise `ListenConfigError` for an invalid value or an unauthenticated public bind."""
        if not isinstance(self.listen_port, int) or not 0 <= self.listen_port <= 65535:
            raise ListenConfigError(f"listen_port must be an integer from 0 to 65535, got {self.listen_port!r}")
        if not self.webhook_path.startswith("/"):
            raise ListenConfigError(f"webhook_path must start with '/', got {self.webhook_path!r}")
        if self.webhook_path.startswith("/v1/") or self.webhook_path == "/health":
            raise ListenConfigError(
                f"webhook_path {self.webhook_path!r} collides with a Tracking API or health path; choose another"
            )
        for name in ("max_body_bytes", "max_decompressed_bytes", "archive_segment_max_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ListenConfigError(f"{name} must be a positive number of bytes, got {value!r}")
        if self.archive_segment_max_seconds <= 0:
            raise ListenConfigError(
                f"archive_segment_max_seconds must be positive, got {self.archive_segment_max_seconds!r}"
            )
        timeout = self.request_timeout_seconds
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ListenConfigError(f"request_timeout_seconds must be a positive number of seconds, got {timeout!r}")
        if self.batch_signature not in BATCH_SIGNATURE_MODES:
            raise ListenConfigError(
                f"batch_signature must be one of {', '.join(BATCH_SIGNATURE_MODES)}, got {self.batch_signature!r}"
            )
        if self.archive_max_bytes is not None and self.archive_max_bytes <= 0:
            raise ListenConfigError(f"archive_max_bytes must be positive or null, got {self.archive_max_bytes!r}")
        if not self.authenticated and not self.allow_unauthenticated_public and not is_loopback(self.listen_host):
            raise ListenConfigError(
                f"listen_host {self.listen_host!r} is not a loopback address and neither shared_secret nor "
                "write_keys is set, so anyone who can reach it could write events. Set shared_secret or "
                "write_keys, bind to 127.0.0.1, or set allow_unauthenticated_public to true."
            )


def is_loopback(host: str) -> bool:
    """Return True for `localhost` and loopback IP addresses; other host names count as public."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False
