"""Measure replay throughput and peak memory of the tap against a bare orjson baseline.

For each corpus size the script generates the corpus once (or reuses it from
benchmarks/.corpus/), then runs as separate processes, each ``--runs`` times:

- the tap: ``tap-segment-webhook --config CONFIG`` with ``column_style: flat``, stdout to
  /dev/null;
- the baseline: ``benchmarks/baseline.py CORPUS`` (regular-expression snake_case per key);
- the baseline with ``--cache-names`` (each distinct key converted once).

It reports the best wall time of each as events per second, the ratio tap/baseline of wall
times and of CPU times, and the peak resident set size of each child. CPU time and peak RSS
come from ``os.wait4`` for that child alone.

Usage::

    python benchmarks/bench_replay.py
    python benchmarks/bench_replay.py --sizes 200000,2000000 --runs 3
    python benchmarks/bench_replay.py --profile
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import corpus

BENCHMARK_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCHMARK_DIR.parent
TAP_NAME = "tap-segment-webhook"
CHECK_LINES = 2_000
TARGET_RATIO = 0.5
TARGET_RSS_MB = 200
MB = 1024 * 1024


class BenchmarkError(Exception):
    """A child process failed or a setting is invalid."""


@dataclasses.dataclass
class ChildRun:
    wall_seconds: float
    # User plus system CPU time, which other processes on the machine inflate less than wall time.
    cpu_seconds: float
    max_rss_bytes: int


@dataclasses.dataclass
class Measurement:
    """Best wall and CPU times and highest peak RSS over several runs of one command."""

    name: str
    runs: list[ChildRun]

    @property
    def best_seconds(self) -> float:
        return min(run.wall_seconds for run in self.runs)

    @property
    def best_cpu_seconds(self) -> float:
        return min(run.cpu_seconds for run in self.runs)

    @property
    def peak_rss_mb(self) -> float:
        return max(run.max_rss_bytes for run in self.runs) / MB


def run_child(argv: list[str], stderr_path: Path, stdout=subprocess.DEVNULL) -> ChildRun:
    """Run ``argv`` in the folder of ``stderr_path`` and return its times and its own peak RSS.

    The child does not start in the repository, because ``python -m`` puts the working folder
    first on ``sys.path`` and would import the source tree instead of the installed tap.

    ``os.wait4`` reports the rusage of this one child (and any grandchildren it waited for),
    unlike ``resource.getrusage(RUSAGE_CHILDREN)``, which keeps the maximum over all children
    this process has ever reaped.
    """
    with open(stderr_path, "wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=stdout, stderr=stderr, cwd=stderr_path.parent)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = stderr_path.read_text(errors="replace")[-3000:]
        raise BenchmarkError(f"command failed with exit code {process.returncode}: {' '.join(argv)}\n{tail}")
    # Linux reports ru_maxrss in KiB.
    return ChildRun(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)


def measure(name: str, argv: list[str], runs: int, work_dir: Path) -> Measurement:
    results = []
    for index in range(runs):
        result = run_child(argv, work_dir / f"{name}-{index}.stderr")
        print(
            f"    {name} run {index + 1}/{runs}: {result.wall_seconds:.2f} s wall, {result.cpu_seconds:.2f} s CPU, "
            f"peak RSS {result.max_rss_bytes / MB:.0f} MB",
            flush=True,
        )
        results.append(result)
    return Measurement(name, results)


def find_tap(explicit: str | None) -> Path:
    """Return the tap executable: ``--tap``, else next to this Python, else the repository venv."""
    candidates = [Path(explicit)] if explicit else [
        Path(sys.executable).parent / TAP_NAME,
        REPO_DIR / ".venv" / "bin" / TAP_NAME,
    ]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    on_path = None if explicit else shutil.which(TAP_NAME)
    if on_path:
        return Path(on_path)
    searched = ", ".join(str(candidate) for candidate in candidates)
    raise BenchmarkError(f"tap executable not found (searched {searched}). Install the tap with 'pip install .' or pass --tap PATH")


def tap_python(tap: Path) -> str:
    """Return the interpreter named in the tap script's ``#!`` line, or this Python."""
    with open(tap, "rb") as script:
        first_line = script.readline().decode(errors="replace").strip()
    if first_line.startswith("#!") and " " not in first_line[2:].strip():
        interpreter = first_line[2:].strip()
        if Path(interpreter).is_file():
            return interpreter
    return sys.executable


def ensure_corpus(events: int, seed: int, regenerate: bool) -> Path:
    path = corpus.default_path(events, seed)
    if path.is_file() and not regenerate:
        print(f"reusing corpus {path}")
        return path
    print(f"generating corpus {path} ...", flush=True)
    started = time.perf_counter()
    size = corpus.write_corpus(path, events, seed)
    print(f"  {events:,} events, {size:,} bytes in {time.perf_counter() - started:.0f} s")
    return path


def write_tap_config(corpus_path: Path, work_dir: Path) -> Path:
    config = {
        "input_paths": [str(corpus_path)],
        "column_style": "flat",
        "rejects_path": str(work_dir / "rejects.ndjson"),
    }
    config_path = work_dir / "config.json"
    config_path.write_text(json.dumps(config, indent=2))
    return config_path


def check_tap_output(tap: Path, corpus_path: Path, work_dir: Path) -> float:
    """Replay the corpus' first lines with stdout kept, and compare RECORD counts per stream.

    Returns the wall time of that short run, which is mostly the tap's start-up cost. Raises
    when the tap emits no records, so a tap that silently does nothing cannot look fast.
    """
    check_dir = work_dir / "check"
    check_dir.mkdir()
    prefix_path = check_dir / "prefix.ndjson"
    expected: dict[str, set[str]] = {}
    with open(corpus_path, "rb") as source, open(prefix_path, "wb") as prefix:
        for _, line in zip(range(CHECK_LINES), source):
            prefix.write(line)
            message = json.loads(line)
            expected.setdefault(message["type"], set()).add(message["messageId"])
    config_path = write_tap_config(prefix_path, check_dir)
    output_path = check_dir / "stdout.ndjson"
    with open(output_path, "wb") as output:
        result = run_child([str(tap), "--config", str(config_path)], check_dir / "stderr", stdout=output)

    emitted: dict[str, int] = {}
    with open(output_path, "rb") as output:
        for line in output:
            message = json.loads(line)
            if message.get("type") == "RECORD":
                emitted[message["stream"]] = emitted.get(message["stream"], 0) + 1
    if not emitted:
        tail = (check_dir / "stderr").read_text(errors="replace")[-3000:]
        raise BenchmarkError(f"the tap emitted no RECORD messages for the first {CHECK_LINES:,} lines of {corpus_path}. Its stderr ends with:\n{tail}")
    for stream, message_ids in sorted(expected.items()):
        if emitted.get(stream, 0) != len(message_ids):
            print(f"  WARNING: stream {stream}: tap emitted {emitted.get(stream, 0)} records for {len(message_ids)} distinct message ids")
    total_expected = sum(len(ids) for ids in expected.values())
    print(f"  check: tap emitted {sum(emitted.values()):,} records for {total_expected:,} distinct messages in the first {CHECK_LINES:,} lines, in {result.wall_seconds:.2f} s")
    return result.wall_seconds


def count_lines(path: Path) -> int:
    if not path.is_file():
        return 0
    with open(path, "rb") as file:
        return sum(1 for _ in file)


def bench_size(events: int, args: argparse.Namespace, tap: Path) -> dict:
    corpus_path = ensure_corpus(events, args.seed, args.regenerate)
    corpus_bytes = corpus_path.stat().st_size
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as temp:
        work_dir = Path(temp)
        startup_seconds = check_tap_output(tap, corpus_path, work_dir)
        config_path = write_tap_config(corpus_path, work_dir)
        baseline_script = str(BENCHMARK_DIR / "baseline.py")
        tap_result = measure("tap", [str(tap), "--config", str(config_path)], args.runs, work_dir)
        rejects = count_lines(work_dir / "rejects.ndjson")
        result = {
            "events": events,
            "bytes": corpus_bytes,
            "tap_seconds": tap_result.best_seconds,
            "tap_cpu_seconds": tap_result.best_cpu_seconds,
            "tap_events_per_second": events / tap_result.best_seconds,
            "tap_peak_rss_mb": tap_result.peak_rss_mb,
            "tap_seconds_first_2000_lines": startup_seconds,
            "tap_rejects": rejects,
            "baseline_events_per_second": None,
            "baseline_peak_rss_mb": None,
            "baseline_cached_events_per_second": None,
            "ratio": None,
            "ratio_cached": None,
            "ratio_cpu": None,
            "ratio_cached_cpu": None,
            "runs": args.runs,
        }
        if not args.tap_only:
            baseline = measure("baseline", [args.python, baseline_script, str(corpus_path)], args.runs, work_dir)
            cached = measure("baseline-cached", [args.python, baseline_script, "--cache-names", str(corpus_path)], args.runs, work_dir)
            result.update(
                {
                    "baseline_events_per_second": events / baseline.best_seconds,
                    "baseline_peak_rss_mb": baseline.peak_rss_mb,
                    "baseline_cached_events_per_second": events / cached.best_seconds,
                    "ratio": baseline.best_seconds / tap_result.best_seconds,
                    "ratio_cached": cached.best_seconds / tap_result.best_seconds,
                    "ratio_cpu": baseline.best_cpu_seconds / tap_result.best_cpu_seconds,
                    "ratio_cached_cpu": cached.best_cpu_seconds / tap_result.best_cpu_seconds,
                }
            )
        if args.profile:
            profile_tap(tap, config_path, events)
    return result


def profile_tap(tap: Path, config_path: Path, events: int) -> None:
    """Run the tap once under cProfile and print the top functions by own and by cumulative time."""
    profile_path = corpus.CORPUS_DIR / f"tap-{events}.prof"
    argv = [tap_python(tap), "-m", "cProfile", "-o", str(profile_path), str(tap), "--config", str(config_path)]
    print(f"  profiling the tap (cProfile, output {profile_path}) ...", flush=True)
    run_child(argv, config_path.parent / "profile.stderr")
    stats = pstats.Stats(str(profile_path))
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(25)


def repository_commit() -> str:
    """Return the short HEAD commit, marked when the package source has uncommitted changes."""
    try:
        commit = subprocess.run(["git", "-C", str(REPO_DIR), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        changes = subprocess.run(["git", "-C", str(REPO_DIR), "status", "--porcelain", "--", "tap_segment_webhook", "schemas", "setup.py"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" with uncommitted changes" if changes.strip() else "")


def machine_facts(tap: Path, baseline_python: str) -> dict:
    cpu_model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    memory_kib = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    facts = {
        "cpu": cpu_model,
        "cpus_usable": len(os.sched_getaffinity(0)),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        # Other processes compete for the CPUs, so a high load average makes the timings worse.
        "load_average_1min": os.getloadavg()[0],
        "tap": str(tap),
        "repository_commit": repository_commit(),
    }
    query = (
        "import sys, importlib.metadata as m\n"
        "print(sys.version.split()[0])\n"
        "for name in ('orjson', 'singer-sdk'):\n"
        "    try:\n"
        "        print(m.version(name))\n"
        "    except m.PackageNotFoundError:\n"
        "        print('not installed')\n"
    )
    for label, python in (("tap", tap_python(tap)), ("baseline", baseline_python)):
        lines = subprocess.run([python, "-c", query], capture_output=True, text=True, check=True).stdout.splitlines()
        facts[f"{label}_python"] = f"{lines[0]} ({python})"
        facts[f"{label}_orjson"] = lines[1]
        if label == "tap":
            facts["tap_singer_sdk"] = lines[2]
    return facts


def print_report(facts: dict, results: list[dict]) -> None:
    print("\nmachine")
    for key, value in facts.items():
        print(f"  {key:<18} {value}")

    def optional(template: str, key: str):
        return lambda result: "skipped" if result[key] is None else template.format(result[key])

    rows = [
        ("events", lambda r: f"{r['events']:,}"),
        ("corpus bytes", lambda r: f"{r['bytes']:,} ({r['bytes'] / r['events']:.0f} per event)"),
        ("tap events/s", lambda r: f"{r['tap_events_per_second']:,.0f} (best of {r['runs']}: {r['tap_seconds']:.1f} s)"),
        ("tap CPU seconds", lambda r: f"{r['tap_cpu_seconds']:.1f}"),
        ("baseline events/s", optional("{:,.0f}", "baseline_events_per_second")),
        ("ratio tap/baseline", optional("{:.2f}", "ratio")),
        ("cached-names baseline events/s", optional("{:,.0f}", "baseline_cached_events_per_second")),
        ("ratio tap/cached-names baseline", optional("{:.2f}", "ratio_cached")),
        ("ratio tap/baseline, CPU time", optional("{:.2f}", "ratio_cpu")),
        ("ratio tap/cached-names, CPU time", optional("{:.2f}", "ratio_cached_cpu")),
        ("tap peak RSS MB", lambda r: f"{r['tap_peak_rss_mb']:.0f}"),
        ("baseline peak RSS MB", optional("{:.0f}", "baseline_peak_rss_mb")),
        (f"tap s for first {CHECK_LINES:,} lines", lambda r: f"{r['tap_seconds_first_2000_lines']:.2f}"),
        ("tap rejects", lambda r: f"{r['tap_rejects']:,}"),
    ]
    print("\nresults")
    for label, render in rows:
        print(f"  {label:<34} " + " | ".join(f"{render(result):>28}" for result in results))

    print("\ntargets")
    ratios = [result["ratio"] for result in results if result["ratio"] is not None]
    if ratios:
        worst_ratio = min(ratios)
        print(f"  ratio tap/baseline >= {TARGET_RATIO}: {'met' if worst_ratio >= TARGET_RATIO else 'NOT met'} (lowest {worst_ratio:.2f})")
    worst_rss = max(result["tap_peak_rss_mb"] for result in results)
    print(f"  tap peak RSS < {TARGET_RSS_MB} MB: {'met' if worst_rss < TARGET_RSS_MB else 'NOT met'} (highest {worst_rss:.0f} MB)")
    if len(results) > 1:
        smallest, largest = results[0], results[-1]
        growth = largest["tap_peak_rss_mb"] - smallest["tap_peak_rss_mb"]
        print(f"  tap peak RSS from {smallest['events']:,} to {largest['events']:,} events: {growth:+.0f} MB")


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid --sizes {text!r}: expected comma-separated event counts such as 200000,2000000")
    if not sizes or min(sizes) < CHECK_LINES:
        raise argparse.ArgumentTypeError(f"invalid --sizes {text!r}: each size must be at least {CHECK_LINES:,}")
    return sorted(sizes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the tap's replay mode against a bare orjson baseline.")
    parser.add_argument("--sizes", type=parse_sizes, default=[corpus.DEFAULT_EVENTS], help="comma-separated corpus sizes in events (default 200000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per command, of which the best wall and CPU times count (default 3)")
    parser.add_argument("--seed", type=int, default=corpus.DEFAULT_SEED, help=f"corpus seed (default {corpus.DEFAULT_SEED})")
    parser.add_argument("--regenerate", action="store_true", help="write the corpus again even if benchmarks/.corpus/ has it")
    parser.add_argument("--tap", help=f"path of the {TAP_NAME} executable (default: next to this Python, then .venv/bin)")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the baseline, which needs orjson (default: this Python)")
    parser.add_argument("--tap-only", action="store_true", help="skip both baselines, for example to check the tap's peak RSS at more sizes")
    parser.add_argument("--profile", action="store_true", help="also run the tap once under cProfile and print its hot spots")
    parser.add_argument("--json", type=Path, help="also write the machine facts and results to this JSON file")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")

    try:
        tap = find_tap(args.tap)
        facts = machine_facts(tap, args.python)
        results = []
        for events in args.sizes:
            print(f"\n== {events:,} events", flush=True)
            results.append(bench_size(events, args, tap))
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    print_report(facts, results)
    if args.json:
        args.json.write_text(json.dumps({"machine": facts, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
