"""Load test of the webhook listener on loopback, with fsync on.

Usage: python benchmarks/listen_bench.py [--seconds 10] [--connections 32] [--frameworks]

The server runs in a child process so that the load generator does not share its
interpreter. Each scenario sends requests over 32 keep-alive connections until a request
count or a duration is reached, and prints acknowledged events per second and p50/p99
acknowledgement latency. Scenarios:

- single: one Segment track event (about 650 bytes) per POST to the webhook path;
- batch: 100 events per POST to `/v1/batch`, stamped as the Tracking API does;
- the same two against a bare aiohttp server that only appends the body to the same
  group-commit archive (no verification, parsing or stamping), which is the limit the
  listener can reach on this machine;
- paced: single events at a fixed 1,000 requests per second, for the latency at that rate.

With `--frameworks` the script runs only a framework comparison instead: the same bare
server (append the body to the group-commit archive, wait for its fsync, respond 200) on
aiohttp and on uvicorn with starlette, for single events and batches of 100, over
`--rounds` rounds that alternate which framework goes first. It needs uvicorn, starlette
and httptools in the running interpreter; benchmarks/README.md says how to install them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t

import aiohttp
import orjson

EVENT = {
    "type": "track",
    "event": "Checkout Started",
    "anonymousId": "0b9c2a7e-3f1d-4c55-9a0e-6d2b1f8e4c3a",
    "channel": "client",
    "originalTimestamp": "2024-03-05T10:00:00.000Z",
    "sentAt": "2024-03-05T10:00:02.500Z",
    "receivedAt": "2024-03-05T09:58:40.100Z",
    "timestamp": "2024-03-05T09:58:37.600Z",
    "properties": {"revenue": 42.5, "currency": "EUR", "cartId": "c-77", "items": [{"sku": "A1", "qty": 2}]},
    "context": {
        "ip": "203.0.113.9",
        "locale": "de-DE",
        "library": {"name": "analytics.js", "version": "next-1.70.0"},
        "page": {"path": "/cart", "title": "Cart", "url": "https://shop.example/cart?utm_source=nl"},
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
    },
    "integrations": {},
}
BATCH_SIZE = 100
# Both bare servers send these bytes, so neither pays for JSON encoding of the response.
SUCCESS_BODY = b'{"success":true}'
# Fsync scheme of the bare servers, printed with the framework comparison.
DURABILITY = (
    "group commit in both: each request waits for an fsync of the archive.ArchiveWriter "
    "segment that covers its bytes, and requests that arrive during an fsync share the next one"
)


# Server side, run in the child process.


def serve(kind: str, archive_dir: str) -> None:
    """Run the listener or the bare baseline on a free port and print the port on stdout."""
    if kind == "listener":
        from tap_segment_webhook.listen.service import ListenerService, ListenSettings
        from tap_segment_webhook.report.rejects import RejectsWriter

        settings = ListenSettings.from_config({"listen_port": 0, "archive_dir": archive_dir})
        service = ListenerService(settings, RejectsWriter(os.path.join(archive_dir, "rejects.ndjson")), dict)
        service.start()
        print(service.bound_port, flush=True)
        sys.stdin.read()
        service.stop()
        return
    if kind == "uvicorn":
        asyncio.run(_serve_uvicorn(archive_dir))
        return
    asyncio.run(_serve_baseline(archive_dir))


async def _serve_baseline(archive_dir: str) -> None:
    from aiohttp import web

    from tap_segment_webhook.listen.archive import ArchiveWriter

    archive = ArchiveWriter(archive_dir)
    await archive.open()

    async def append(request: web.Request) -> web.Response:
        body = await request.read()
        await archive.append(body.replace(b"\n", b" ") + b"\n")
        return web.Response(body=SUCCESS_BODY, content_type="application/json")

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/", append)
    app.router.add_post("/v1/batch", append)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()
    await archive.close()


async def _serve_uvicorn(archive_dir: str) -> None:
    """Serve the bare append handler with starlette on uvicorn, on the same asyncio loop type as aiohttp."""
    import socket

    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from tap_segment_webhook.listen.archive import ArchiveWriter

    archive = ArchiveWriter(archive_dir)
    await archive.open()

    async def append(request: Request) -> Response:
        body = await request.body()
        await archive.append(body.replace(b"\n", b" ") + b"\n")
        return Response(SUCCESS_BODY, media_type="application/json")

    app = Starlette(routes=[Route("/", append, methods=["POST"]), Route("/v1/batch", append, methods=["POST"])])
    # loop="asyncio" keeps uvloop out, because aiohttp runs on the standard asyncio loop here.
    # httptools is a C parser like aiohttp's llhttp-based one.
    config = uvicorn.Config(
        app, loop="asyncio", http="httptools", lifespan="off", access_log=False, log_level="warning"
    )
    server = uvicorn.Server(config)
    # asyncio sets TCP_NODELAY on accepted connections only when the listening socket's proto
    # is IPPROTO_TCP. With proto 0, Nagle's algorithm holds back the response body, which
    # uvicorn sends apart from the headers, until the client's delayed ACK (about 40 ms).
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.bind(("127.0.0.1", 0))
    # Listening before the port is printed queues early connections instead of refusing them.
    listening.listen(2048)
    print(listening.getsockname()[1], flush=True)

    async def stop_on_stdin_eof() -> None:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        server.should_exit = True

    stopper = asyncio.create_task(stop_on_stdin_eof())
    await server.serve(sockets=[listening])
    await stopper
    await archive.close()


# Load generator.


class Result(t.NamedTuple):
    events_per_second: float
    requests: int
    failures: int
    p50_ms: float
    p99_ms: float


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _post_timed(session: aiohttp.ClientSession, url: str, body: bytes, latencies: list[float]) -> bool:
    """POST `body`; on 200 append the latency in seconds to `latencies` and return True."""
    started = time.perf_counter()
    async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
        await response.read()
        if response.status != 200:
            return False
    latencies.append(time.perf_counter() - started)
    return True


async def run_closed_loop(url: str, body: bytes, events: int, connections: int, seconds: float, max_requests: int) -> Result:
    """Send as fast as `connections` workers allow, until `max_requests` or `seconds`."""
    latencies: list[float] = []
    failures = 0
    sent = 0
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal failures, sent
            while sent < max_requests and time.perf_counter() < deadline:
                sent += 1
                if not await _post_timed(session, url, body, latencies):
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return Result(
        events_per_second=len(latencies) * events / elapsed,
        requests=len(latencies),
        failures=failures,
        p50_ms=_percentile(latencies, 0.50) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
    )


async def run_paced(url: str, body: bytes, rate: float, seconds: float) -> Result:
    """Start one request every 1/`rate` seconds whatever the responses, and time each."""
    latencies: list[float] = []
    failures = 0
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            nonlocal failures
            if not await _post_timed(session, url, body, latencies):
                failures += 1

        tasks = []
        start = time.perf_counter()
        total = int(rate * seconds)
        for index in range(total):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return Result(len(latencies) / elapsed, len(latencies), failures, _percentile(latencies, 0.5) * 1000, _percentile(latencies, 0.99) * 1000)


def start_server(kind: str, archive_dir: str) -> tuple[subprocess.Popen[str], int]:
    repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    environment = {**os.environ, "PYTHONPATH": repository + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--serve", kind, "--archive-dir", archive_dir],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, port


def stop_server(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.close()
    process.wait(timeout=60)


def machine_facts() -> str:
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"nproc={os.cpu_count()} cpu='{model}' python={platform.python_version()} platform={platform.platform()}"


def print_result(label: str, result: Result) -> None:
    print(
        f"{label:<28} {result.events_per_second:>10.0f} events/s  p50 {result.p50_ms:7.2f} ms  "
        f"p99 {result.p99_ms:7.2f} ms  ({result.requests} acked, {result.failures} failed)"
    )


def run_workloads(kind: str, connections: int, seconds: float, max_requests: int) -> dict[str, Result]:
    """Start the `kind` server, run the single and batch closed loops against it, and stop it."""
    single = orjson.dumps(EVENT)
    batch = orjson.dumps({"batch": [EVENT] * BATCH_SIZE, "sentAt": "2024-03-05T10:00:02.500Z"})
    results: dict[str, Result] = {}
    with tempfile.TemporaryDirectory(prefix=f"listen-bench-{kind}-") as archive_dir:
        process, port = start_server(kind, archive_dir)
        try:
            base = f"http://127.0.0.1:{port}"
            results["single"] = asyncio.run(run_closed_loop(base + "/", single, 1, connections, seconds, max_requests))
            results["batch"] = asyncio.run(
                run_closed_loop(base + "/v1/batch", batch, BATCH_SIZE, connections, seconds, max_requests)
            )
        finally:
            stop_server(process)
    return results


def _median_result(results: list[Result]) -> Result:
    """Return the result with the median events/s (the lower middle one for an even count)."""
    ordered = sorted(results, key=lambda result: result.events_per_second)
    return ordered[(len(ordered) - 1) // 2]


def compare_frameworks(connections: int, seconds: float, max_requests: int, rounds: int) -> None:
    """Run the bare append+fsync server on aiohttp and on uvicorn with starlette, and print both."""
    try:
        import httptools
        import starlette
        import uvicorn
    except ImportError as error:
        raise SystemExit(
            f"--frameworks needs uvicorn, starlette and httptools in {sys.executable}: {error}. "
            "See the Listener benchmark section of benchmarks/README.md."
        ) from None
    print(
        f"aiohttp {aiohttp.__version__}, uvicorn {uvicorn.__version__} (http=httptools {httptools.__version__}, "
        f"loop=asyncio), starlette {starlette.__version__}"
    )
    print(f"durability: {DURABILITY}")
    print(f"{connections} keep-alive connections, each run stops after {max_requests} requests or {seconds:g} s")
    names = {"baseline": "aiohttp", "uvicorn": "uvicorn+starlette"}
    runs: dict[tuple[str, str], list[Result]] = {}
    for round_index in range(rounds):
        order = ("baseline", "uvicorn") if round_index % 2 == 0 else ("uvicorn", "baseline")
        for kind in order:
            for scenario, result in run_workloads(kind, connections, seconds, max_requests).items():
                runs.setdefault((kind, scenario), []).append(result)
                print_result(f"round {round_index + 1} {names[kind]} {scenario}", result)
    print(f"median of {rounds} round(s) by events/s:")
    for scenario, label in (("single", "single"), ("batch", "batch of 100")):
        medians = {kind: _median_result(runs[kind, scenario]) for kind in names}
        for kind, name in names.items():
            print_result(f"{name} {label}", medians[kind])
        ratio = medians["uvicorn"].events_per_second / medians["baseline"].events_per_second
        p99_ratio = medians["uvicorn"].p99_ms / medians["baseline"].p99_ms
        print(f"uvicorn+starlette/aiohttp {label}: events/s {ratio:.2f}, p99 {p99_ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="max duration of each closed-loop scenario, in seconds")
    parser.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections")
    parser.add_argument("--max-requests", type=int, default=50_000, help="max requests per closed-loop scenario")
    parser.add_argument("--paced-rate", type=float, default=1000.0, help="requests per second of the paced scenario")
    parser.add_argument(
        "--frameworks",
        action="store_true",
        help="compare the bare append+fsync server on aiohttp and on uvicorn with starlette, "
        "instead of the listener scenarios",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of the --frameworks comparison, of which the median is printed"
    )
    parser.add_argument("--serve", choices=["listener", "baseline", "uvicorn"], help=argparse.SUPPRESS)
    parser.add_argument("--archive-dir", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {arguments.rounds}")
    if arguments.serve:
        serve(arguments.serve, arguments.archive_dir)
        return

    print(machine_facts())
    if arguments.frameworks:
        compare_frameworks(arguments.connections, arguments.seconds, arguments.max_requests, arguments.rounds)
        return
    single = orjson.dumps(EVENT)
    batch = orjson.dumps({"batch": [EVENT] * BATCH_SIZE, "sentAt": "2024-03-05T10:00:02.500Z"})
    results: dict[tuple[str, str], Result] = {}
    for kind in ("listener", "baseline"):
        with tempfile.TemporaryDirectory(prefix=f"listen-bench-{kind}-") as archive_dir:
            process, port = start_server(kind, archive_dir)
            try:
                base = f"http://127.0.0.1:{port}"
                results[kind, "single"] = asyncio.run(
                    run_closed_loop(base + "/", single, 1, arguments.connections, arguments.seconds, arguments.max_requests)
                )
                results[kind, "batch"] = asyncio.run(
                    run_closed_loop(
                        base + "/v1/batch", batch, BATCH_SIZE, arguments.connections, arguments.seconds, arguments.max_requests
                    )
                )
                if kind == "listener":
                    results[kind, "paced"] = asyncio.run(run_paced(base + "/", single, arguments.paced_rate, 5.0))
            finally:
                stop_server(process)
    print_result("listener single", results["listener", "single"])
    print_result("baseline single", results["baseline", "single"])
    print_result("listener batch of 100", results["listener", "batch"])
    print_result("baseline batch of 100", results["baseline", "batch"])
    for scenario in ("single", "batch"):
        ratio = results["listener", scenario].events_per_second / results["baseline", scenario].events_per_second
        print(f"listener/baseline {scenario}: {ratio:.2f}")
    paced = results["listener", "paced"]
    print_result(f"listener paced {arguments.paced_rate:.0f} req/s", paced)


if __name__ == "__main__":
    main()
