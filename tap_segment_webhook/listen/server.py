"""The aiohttp application: webhook and Tracking API endpoints, and `GET /health`.

Each request goes through these steps, and the first that fails decides the status:

0. respond 503 once intake is stopped;
1. read the body within `max_body_bytes` (413) and `request_timeout_seconds` (408);
2. check the signature over the raw bytes (401);
3. check the media type (415) and decompress within `max_decompressed_bytes` (413, 400);
4. parse JSON (400) and check the write key (401);
5. build the messages, append them to the archive and wait for its fsync (503);
6. respond 200 `{"success": true}`.

A middleware gives every response, 404 and 405 included, an `X-Request-Id` header and a JSON
error body.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import traceback
import typing as t
import uuid

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from tap_segment_webhook.listen import body as body_codec
from tap_segment_webhook.listen import tracking, verify
from tap_segment_webhook.listen.archive import ArchiveError, ArchiveWriter
from tap_segment_webhook.listen.settings import ListenSettings

if t.TYPE_CHECKING:
    from tap_segment_webhook.report.rejects import RejectsWriter

LOGGER = logging.getLogger("tap-segment-webhook.listen.server")

# Media types taken as JSON. analytics.js sends text/plain to avoid a CORS preflight.
_JSON_MEDIA_TYPES = frozenset({"application/json", "text/plain", "application/octet-stream", ""})
# Seconds a sender is asked to wait after a 503.
_RETRY_AFTER_SECONDS = "5"
_READ_CHUNK_BYTES = 256 * 1024
_REQUEST_ID_KEY = web.RequestKey("request_id", str)

StatusCallable = t.Callable[[], t.Mapping[str, t.Any]]
Clock = t.Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class IntakeSwitch:
    """Whether new requests get 503; set from any thread, read on the event loop.

    A plain attribute, because assigning it is atomic and, unlike a lock, safe in a signal handler.
    """

    def __init__(self) -> None:
        self.stopped = False


class _Rejected(Exception):
    """Ends a request with an HTTP error status; `reason` is set when the body goes to the rejects file."""

    def __init__(
        self,
        status: int,
        message: str,
        reason: str | None = None,
        raw: bytes | None = None,
        *,
        close_connection: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.raw = raw
        self.close_connection = close_connection


# One item of a request that goes to the rejects file: its index, reason code and JSON text.
_ItemReject = tuple[int, str, bytes]


class _Handler:
    """Request handlers bound to one archive, rejects file and settings."""

    def __init__(
        self,
        settings: ListenSettings,
        archive: ArchiveWriter,
        rejects: RejectsWriter,
        emission_status: StatusCallable,
        clock: Clock,
        new_message_id: t.Callable[[], str],
    ) -> None:
        self.settings = settings
        self.archive = archive
        self.rejects = rejects
        self.emission_status = emission_status
        self.clock = clock
        self.new_message_id = new_message_id
        self.secret = settings.shared_secret.encode("utf-8") if settings.shared_secret is not None else None
        self.counts: dict[str, int] = {"accepted_requests": 0, "accepted_events": 0}
        # Sorted by length, longest first, so a secret that contains another is replaced whole.
        secrets = {*settings.write_keys, *([settings.shared_secret] if settings.shared_secret else [])}
        self._secrets = sorted(secrets, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """Replace every configured write key and the shared secret in `text` before it is logged."""
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    async def health(self, request: web.Request) -> web.Response:
        """Return archive and emission status as JSON; 503 when the archive is closed."""
        archive_status = self.archive.status()
        try:
            emission: t.Any = dict(self.emission_status())
        except Exception as error:  # noqa: BLE001 - a failing callback must not break /health
            LOGGER.warning("Emission status callback failed: %s", error)
            emission = {"error": str(error)}
        payload = {
            "status": "ok" if archive_status["open"] else "unavailable",
            "requests": {**self.counts},
            "archive": archive_status,
            "emission": emission,
        }
        return _json_response(payload, 200 if archive_status["open"] else 503)

    async def receive(self, request: web.Request) -> web.Response:
        """Accept one webhook or Tracking API request."""
        request_id = request[_REQUEST_ID_KEY]
        path = request.path
        source = {"request_id": request_id, "path": path}
        try:
            lines, item_rejects = await self._lines_from(request, path)
        except _Rejected as rejection:
            if rejection.reason is not None and rejection.raw is not None:
                self.rejects.write(rejection.reason, source, rejection.raw)
            LOGGER.info(
                "Request %s to %s rejected with %d: %s",
                request_id,
                path,
                rejection.status,
                self.redact(str(rejection)),
            )
            response = _error_response(rejection.status, str(rejection), request_id, rejection.reason)
            if rejection.close_connection:
                response.force_close()
            return response
        if lines:
            try:
                await self.archive.append(b"".join(lines), events=len(lines))
            except ArchiveError as error:
                LOGGER.warning("Request %s to %s answered 503: %s", request_id, path, error)
                response = _error_response(503, "archive unavailable, retry later", request_id)
                response.headers["Retry-After"] = _RETRY_AFTER_SECONDS
                return response
        # Item rejects are written only once the response is final, so a request
        # that got 503 and is retried does not reject its items twice.
        for index, reason, raw in item_rejects:
            self.rejects.write(reason, {**source, "item": index}, raw)
        if not lines and item_rejects:
            # With a single item, its own reason is the most useful error code.
            code = item_rejects[0][1] if len(item_rejects) == 1 else None
            return _error_response(400, "no usable message in the request", request_id, code)
        self.counts["accepted_requests"] += 1
        self.counts["accepted_events"] += len(lines)
        return _json_response({"success": True}, 200, request_id)

    async def _lines_from(self, request: web.Request, path: str) -> tuple[list[bytes], list[_ItemReject]]:
        """Return the archive lines of a request and the items that go to the rejects file."""
        raw = await self._read_body(request)
        is_tracking = tracking.is_tracking_path(path)
        self._check_signature(request, raw, is_tracking)
        media_type = request.content_type.lower() if request.headers.get("Content-Type") else ""
        if media_type not in _JSON_MEDIA_TYPES and not media_type.endswith("+json"):
            raise _Rejected(
                415, f"Content-Type '{media_type}' is not supported; send application/json", "unsupported_media_type", raw
            )
        try:
            decoded = body_codec.decompress(
                raw, request.headers.get("Content-Encoding"), self.settings.max_decompressed_bytes
            )
        except body_codec.BodyError as error:
            # A body past the size limit is not kept; other bad bodies go to the rejects file.
            raise _Rejected(error.status, str(error), None if error.status == 413 else error.reason, raw) from error
        try:
            document = body_codec.parse_json(decoded)
        except body_codec.BodyError as error:
            raise _Rejected(400, str(error), error.reason, decoded) from error
        self._check_write_key(request, document, is_tracking)
        if is_tracking:
            return self._tracking_lines(request, path, document, decoded)
        return self._webhook_lines(document, decoded)

    async def _read_body(self, request: web.Request) -> bytes:
        limit = self.settings.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise _Rejected(413, f"body exceeds {limit} bytes")
        timeout = self.settings.request_timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                return await _read_chunks(request, limit)
        except TimeoutError as error:
            raise _Rejected(
                408, f"the body was not received within {timeout:g} seconds", close_connection=True
            ) from error
        except HttpProcessingError as error:
            # A malformed chunked encoding, or a body shorter than its Content-Length.
            raise _Rejected(400, f"the body is malformed: {error.message}", close_connection=True) from error

    def _check_signature(self, request: web.Request, raw: bytes, is_tracking: bool) -> None:
        # The webhook path is authenticated by signature when a secret is set. Tracking API
        # clients do not sign, so there a signature is needed only when no write keys are set,
        # which keeps a listener with only a secret closed to unsigned senders.
        if self.secret is None:
            return
        if is_tracking and self.settings.write_keys:
            return
        try:
            verify.require_signature(
                self.secret,
                raw,
                request.headers.get("X-Signature"),
                first_element=self.settings.batch_signature == "first_element",
            )
        except verify.SignatureError as error:
            raise _Rejected(401, str(error)) from error

    def _check_write_key(self, request: web.Request, document: object, is_tracking: bool) -> None:
        # Mirror of _check_signature: write keys authenticate Tracking API requests, and
        # webhook requests only when no secret is set.
        if not self.settings.write_keys:
            return
        if not is_tracking and self.secret is not None:
            return
        accepted = self.settings.write_keys
        authorization = request.headers.get("Authorization")
        if verify.check_write_key(accepted, authorization, None):
            return
        body_keys = _body_write_keys(document)
        if body_keys and all(verify.check_write_key(accepted, None, key) for key in body_keys):
            return
        raise _Rejected(401, "missing or unknown write key")

    def _webhook_lines(self, document: object, decoded: bytes) -> tuple[list[bytes], list[_ItemReject]]:
        if isinstance(document, list):
            items: list[object] = document
        elif isinstance(document, dict) and "type" not in document and isinstance(document.get("batch"), list):
            items = tracking.expand_batch(document)
        elif isinstance(document, dict):
            items = [document]
        else:
            raise _Rejected(400, "body must be a JSON object or array", "not_an_object", decoded)

        def prepare(item: object) -> dict[str, t.Any]:
            message = tracking.check_type(item)
            message.pop("writeKey", None)
            return message

        return _encode_items(items, prepare)

    def _tracking_lines(
        self, request: web.Request, path: str, document: object, decoded: bytes
    ) -> tuple[list[bytes], list[_ItemReject]]:
        implied_type = tracking.SINGLE_MESSAGE_PATHS.get(path)
        if implied_type is not None:
            if not isinstance(document, dict):
                raise _Rejected(400, "body must be a JSON object", "not_an_object", decoded)
            items: list[object] = [document]
        else:
            try:
                items = tracking.expand_batch(document)
            except tracking.InvalidItem as error:
                raise _Rejected(400, str(error), error.reason, decoded) from error
        received_at = self.clock()
        client_ip = request.remote

        def prepare(item: object) -> dict[str, t.Any]:
            message = tracking.check_type(item, implied_type)
            return tracking.stamp(message, received_at, client_ip, self.new_message_id)

        return _encode_items(items, prepare)


async def _read_chunks(request: web.Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(_READ_CHUNK_BYTES)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise _Rejected(413, f"body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _encode_items(
    items: list[object], prepare: t.Callable[[object], dict[str, t.Any]]
) -> tuple[list[bytes], list[_ItemReject]]:
    """Encode each item that `prepare` turns into a message; the others become item rejects.

    An item is rejected alone, so the other items of an array or batch are still archived.
    """
    lines: list[bytes] = []
    rejects: list[_ItemReject] = []
    for index, item in enumerate(items):
        try:
            lines.append(body_codec.encode_line(prepare(item)))
        except (tracking.InvalidItem, body_codec.BodyError) as error:
            rejects.append((index, error.reason, body_codec.encode_for_rejects(item)))
    return lines, rejects


def _body_write_keys(document: object) -> list[object]:
    """Return the `writeKey` values to check: the body's own, else one per object item."""
    if isinstance(document, dict):
        if "writeKey" in document:
            return [document["writeKey"]]
        items = document.get("batch")
    else:
        items = document
    if not isinstance(items, list):
        return []
    return [item.get("writeKey") for item in items if isinstance(item, dict)]


def _json_response(payload: t.Mapping[str, t.Any], status: int, request_id: str | None = None) -> web.Response:
    response = web.Response(body=orjson.dumps(payload), status=status, content_type="application/json")
    if request_id is not None:
        response.headers["X-Request-Id"] = request_id
    return response


# Error codes by status, for responses whose cause has no reason code of its own.
# Segment's libraries log the `code` and `message` fields of an error response.
_STATUS_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    500: "internal_error",
    503: "unavailable",
}


def _error_response(status: int, message: str, request_id: str, code: str | None = None) -> web.Response:
    payload = {"success": False, "code": code or _STATUS_CODES.get(status, "error"), "message": message}
    return _json_response(payload, status, request_id)


def _middleware(listener: _Handler, intake: IntakeSwitch) -> t.Any:
    # aiohttp passes `handler` by keyword, so the parameter keeps that name.
    @web.middleware
    async def middleware(request: web.Request, handler: t.Any) -> web.StreamResponse:
        request_id = uuid.uuid4().hex
        request[_REQUEST_ID_KEY] = request_id
        if intake.stopped:
            response = _error_response(503, "the listener is shutting down; retry later", request_id, "shutting_down")
            response.headers["Retry-After"] = _RETRY_AFTER_SECONDS
            response.force_close()
            return response
        try:
            response = await handler(request)
        except web.HTTPException as error:
            # The router raises these for an unknown path (404) or method (405).
            response = _error_response(error.status, error.reason, request_id)
            if "Allow" in error.headers:
                response.headers["Allow"] = error.headers["Allow"]
            return response
        except Exception as error:  # noqa: BLE001 - logged, and answered with the request id
            # The message may quote the request, so it is redacted, and the traceback lists
            # code locations only.
            LOGGER.error(
                "Request %s to %s failed with %s: %s\n%s",
                request_id,
                request.path,
                type(error).__name__,
                listener.redact(str(error)),
                "".join(traceback.format_tb(error.__traceback__)),
            )
            return _error_response(500, "internal error; see the listener log", request_id)
        response.headers["X-Request-Id"] = request_id
        return response

    return middleware


def create_app(
    settings: ListenSettings,
    archive: ArchiveWriter,
    rejects: RejectsWriter,
    emission_status: StatusCallable,
    *,
    clock: Clock = _utc_now,
    new_message_id: t.Callable[[], str] = tracking.new_api_message_id,
    intake: IntakeSwitch | None = None,
) -> web.Application:
    """Build the aiohttp application; the caller opens and closes `archive`.

    Once `intake.stopped` is true, every new request gets 503 with `Retry-After`.
    """
    handler = _Handler(settings, archive, rejects, emission_status, clock, new_message_id)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[_middleware(handler, intake if intake is not None else IntakeSwitch())],
    )
    app.router.add_get("/health", handler.health)
    for method in ("POST", "PUT", "PATCH"):
        app.router.add_route(method, settings.webhook_path, handler.receive)
    for path in (*tracking.SINGLE_MESSAGE_PATHS, *tracking.BATCH_PATHS):
        app.router.add_post(path, handler.receive)
    return app
