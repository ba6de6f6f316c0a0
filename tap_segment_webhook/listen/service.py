"""Run the listener on its own asyncio event loop in a background thread.

The tap's driver stays synchronous: it calls `start()`, follows the archive, and calls
`stop()` when the run ends. Its signal handler calls `stop_intake()`, which works even while
the driver's thread is blocked writing to a full stdout pipe.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import threading
import typing as t

from aiohttp import web

from tap_segment_webhook.listen.archive import ArchiveWriter
from tap_segment_webhook.listen.server import IntakeSwitch, StatusCallable, create_app
from tap_segment_webhook.listen.settings import ListenConfigError, ListenerStartError, ListenSettings

if t.TYPE_CHECKING:
    from tap_segment_webhook.report.rejects import RejectsWriter

__all__ = ["ListenConfigError", "ListenSettings", "ListenerService", "ListenerStartError"]

LOGGER = logging.getLogger("tap-segment-webhook.listen.service")

# Seconds `start` waits for the server to bind.
_START_TIMEOUT_SECONDS = 30.0


class ListenerService:
    """The HTTP listener and its archive, running in a background thread.

    `status` is called on the listener thread for `GET /health`, so it must be thread-safe and
    fast; it returns a JSON-ready mapping that describes emission.
    """

    def __init__(self, settings: ListenSettings, rejects: RejectsWriter, status: StatusCallable) -> None:
        settings.validate()
        self.settings = settings
        self.rejects = rejects
        self.status = status
        self.bound_port: int | None = None
        self.archive = ArchiveWriter(
            settings.archive_dir,
            segment_max_bytes=settings.archive_segment_max_bytes,
            segment_max_seconds=settings.archive_segment_max_seconds,
            max_bytes=settings.archive_max_bytes,
            min_free_bytes=settings.archive_min_free_bytes,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._intake = IntakeSwitch()
        self._close_sockets_task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """True between a successful `start` and `stop`."""
        return self._thread is not None and self._thread.is_alive() and self._start_error is None

    def start(self) -> None:
        """Open the archive and bind the server; return once requests are accepted.

        Raises `ListenerStartError` when the address is in use or cannot be bound, or the
        archive folder cannot be created.
        """
        if self._thread is not None:
            raise ListenerStartError("the listener was already started")
        self._thread = threading.Thread(target=self._run, name="segment-listener", daemon=True)
        self._thread.start()
        if not self._started.wait(_START_TIMEOUT_SECONDS):
            raise ListenerStartError(f"the listener did not start within {_START_TIMEOUT_SECONDS} seconds")
        if self._start_error is not None:
            self._thread.join()
            raise ListenerStartError(str(self._start_error)) from self._start_error
        LOGGER.info(
            "Listening on http://%s:%d (webhook path '%s'), archive in '%s'",
            self.settings.listen_host,
            self.bound_port,
            self.settings.webhook_path,
            self.archive.directory,
        )

    @property
    def intake_stopped(self) -> bool:
        """True once `stop_intake` or `stop` was called."""
        return self._intake.stopped

    def stop_intake(self) -> None:
        """Respond 503 with `Retry-After` to every new request, and stop accepting connections.

        Returns at once without waiting for the listener thread, so a signal handler may call
        it, also while the calling thread is blocked elsewhere. Requests already past the
        check finish normally, and kept-alive connections get 503 on their next request and
        are then closed. Safe to call from any thread, more than once, and before `start`.
        Call `stop` afterwards to finish in-flight requests and close the archive.
        """
        self._intake.stopped = True
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._start_closing_listening_sockets)
        except RuntimeError:
            # The loop is already closed, so nothing listens any more.
            return

    def _start_closing_listening_sockets(self) -> None:
        # The task is kept so it is not garbage collected before it finishes.
        self._close_sockets_task = asyncio.get_running_loop().create_task(self._close_listening_sockets())

    async def _close_listening_sockets(self) -> None:
        runner = self._runner
        if runner is None:
            return
        sites = list(runner.sites)
        loop = asyncio.get_running_loop()
        # Python 3.11's asyncio leaks a connection it accepted but had not yet attached when
        # Server.close() runs, and that client hangs. So accepting stops first, then the
        # tasks that attach connections already accepted get one loop iteration to run,
        # and only then are the sockets closed. Connections still waiting in the backlog
        # are reset by the close.
        for site in sites:
            server = site._server  # noqa: SLF001 - aiohttp exposes no listening sockets of a site
            for sock in server.sockets if server is not None else ():
                loop.remove_reader(sock.fileno())
        await asyncio.sleep(0)
        for site in sites:
            # BaseSite.stop closes the socket and unregisters the site without suspending, so
            # neither this loop nor runner.cleanup can stop a site the other already stopped.
            if site in runner.sites:
                await site.stop()

    def stop(self, timeout: float | None = None) -> None:
        """Stop intake as `stop_intake` does, finish in-flight requests, then sync and close the archive.

        `timeout` bounds the wait for in-flight requests in seconds; the default is the
        `shutdown_timeout_seconds` setting. Safe to call more than once.
        """
        loop = self._loop
        thread = self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        grace = self.settings.shutdown_timeout_seconds if timeout is None else timeout
        future = asyncio.run_coroutine_threadsafe(self._shutdown(grace), loop)
        try:
            # The archive close after the grace period needs a moment more.
            future.result(grace + 30.0)
        except TimeoutError:
            LOGGER.error("Listener shutdown did not finish within %.1f seconds", grace + 30.0)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        LOGGER.info("Listener stopped")

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as error:  # noqa: BLE001 - reported to the thread that called start()
            self._start_error = error
            loop.run_until_complete(self._abort_startup())
            loop.close()
            self._started.set()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _startup(self) -> None:
        await self.archive.open()
        app = create_app(self.settings, self.archive, self.rejects, self.status, intake=self._intake)
        # auto_decompress=False keeps the raw body for the signature and lets the handler
        # bound decompression itself. Access logs are off because one line per request
        # costs more than the request at high rates.
        # keepalive_timeout closes a connection whose request headers are not complete that
        # long after it was opened or after the previous response, and idle kept-alive
        # connections too. aiohttp 3.13 has no other limit on the time to send headers.
        runner = web.AppRunner(
            app,
            auto_decompress=False,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=self.settings.shutdown_timeout_seconds,
            keepalive_timeout=self.settings.request_timeout_seconds,
        )
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, self.settings.listen_host, self.settings.listen_port)
        try:
            await site.start()
        except OSError as error:
            address = f"{self.settings.listen_host}:{self.settings.listen_port}"
            if error.errno == errno.EADDRINUSE:
                raise ListenerStartError(
                    f"cannot listen on {address}: the port is in use; stop the other process or set listen_port"
                ) from error
            raise ListenerStartError(f"cannot listen on {address}: {error}") from error
        addresses = runner.addresses
        self.bound_port = addresses[0][1] if addresses else self.settings.listen_port

    async def _abort_startup(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        await self.archive.close()

    async def _shutdown(self, grace: float) -> None:
        self._intake.stopped = True
        await self._close_listening_sockets()
        if self._runner is not None:
            self._runner._shutdown_timeout = grace  # noqa: SLF001 - no public setter after setup
            await self._runner.cleanup()
        await self.archive.close()
