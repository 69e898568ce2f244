"""The one command: every performance benchmark, side by side with its baselines.

``python -m benchmarks.run_all [--quick] [--doc docs/performance.md]``

Runs, in order, ``http_clients``, ``collection_pass``, ``feed_layers``, ``storage``, ``queries``
and ``scale`` (each in processes of its own, against the fake-platform server and the databases
on 127.0.0.1), prints their tables as they come, and writes them with the machine and the
versions into ``--doc`` (``docs/performance.md`` by default). ``--quick`` shrinks every size for
a smoke run of a few minutes (its figures are not the documented ones).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from benchmarks._common import ROOT, machine

#: (section, benchmark module, arguments) of the documented run.
FULL: list[tuple[str, str, list[str]]] = [
    ("http_clients", "http_clients",
     ["--requests", "10000", "--connections", "1", "16", "64", "--repeat", "3"]),
    ("collection_pass", "collection_pass",
     ["--accounts", "10000", "--latency-ms", "0", "--repeat", "3"]),
    # Wall time at 20 ms is latency-bound and slow to measure: fewer repeats.
    ("collection_pass_20ms", "collection_pass",
     ["--accounts", "10000", "--latency-ms", "20", "--repeat", "1"]),
    ("feed_layers", "feed_layers",
     ["--requests", "10000", "--repeat", "5", "--instructions", "2000"]),
    ("storage", "storage", ["--accounts", "2000", "--passes", "50", "--repeat", "3"]),
    ("queries", "queries", ["--accounts", "10000", "--days", "365", "--repeat", "20"]),
    ("scale", "scale",
     ["--accounts", "10000", "100000", "--idle-seconds", "20", "--pass-accounts", "100000"]),
]  # fmt: skip
QUICK: list[tuple[str, str, list[str]]] = [
    ("http_clients", "http_clients",
     ["--requests", "2000", "--connections", "16", "--repeat", "1"]),
    ("collection_pass", "collection_pass",
     ["--accounts", "500", "--latency-ms", "0", "--repeat", "1"]),
    ("feed_layers", "feed_layers", ["--requests", "1000", "--repeat", "1"]),
    ("storage", "storage", ["--accounts", "200", "--passes", "10", "--repeat", "1"]),
    ("queries", "queries", ["--accounts", "300", "--days", "30", "--repeat", "5"]),
    ("scale", "scale", ["--accounts", "1000", "--idle-seconds", "3", "--pass-accounts", "1000"]),
]  # fmt: skip
TITLES = {
    "http_clients": "HTTP client cost per request (how the default transport was chosen)",
    "collection_pass": "Collection pass, no added latency: Collector beside the floors and dlt",
    "collection_pass_20ms": "Collection pass, 20 ms per request: Collector beside the floors",
    "feed_layers": "One Bluesky feed request, layer by layer, beside the aiohttp floor",
    "storage": "Storage: bytes per snapshot row; upserts beside raw executemany",
    "queries": "Downstream queries over a year of 6-hourly snapshots",
    "scale": "Scale: the daemon at 10,000 and 100,000 accounts; one 100,000-account pass",
}
BEGIN = "<!-- results: written by python -m benchmarks.run_all -->"
END = "<!-- /results -->"
#: The longest any one benchmark may run before it is stopped.
BENCHMARK_TIMEOUT_SECONDS = 4 * 3600


def versions() -> str:
    """Versions of the pieces the figures depend on."""
    names = ("httpx", "aiohttp", "SQLAlchemy", "psycopg", "dlt", "APScheduler")
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    sqlite = subprocess.run(
        [sys.executable, "-c", "import sqlite3; print(sqlite3.sqlite_version)"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return ", ".join([*found, f"SQLite {sqlite}"])


def postgres_version() -> str:
    """The PostgreSQL server's version, if one answers."""
    try:
        from sqlalchemy import text

        from benchmarks._common import PG_URL
        from collector.storage.db import make_engine

        engine = make_engine(PG_URL)
        with engine.connect() as conn:
            version = str(conn.execute(text("SHOW server_version")).scalar_one())
        engine.dispose()
        return f"PostgreSQL {version}"
    except Exception as exc:
        return f"PostgreSQL unavailable ({exc.__class__.__name__})"


def run(name: str, module: str, args: Sequence[str]) -> tuple[str, str, float]:
    """Run one benchmark module; echo and return its command, output and duration."""
    print(f"\n## {TITLES[name]}\n", flush=True)
    command = f"python -m benchmarks.{module} {' '.join(args)}"
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=BENCHMARK_TIMEOUT_SECONDS,
        check=False,
    )
    seconds = time.perf_counter() - started
    out = done.stdout.strip()
    print(out, flush=True)
    if done.returncode != 0:
        print(done.stderr[-4000:], file=sys.stderr, flush=True)
        out += f"\n\n(failed with exit code {done.returncode})"
    return command, out, seconds


def header(command: str) -> str:
    """What every section was measured on, and how to reproduce them all."""
    info = machine()
    return "\n".join(
        [
            "The tables below are the last run of the benchmarks, copied by the command that",
            "ran them. Every row is the median of several runs in fresh processes (the count is",
            "in each benchmark's arguments); every figure sits beside a baseline measured in the",
            "same run. The fake-platform server runs as a process of its own, so the collector's",
            "CPU is its own. Only 127.0.0.1 is contacted.",
            "",
            "Reproduce:",
            "",
            "```sh",
            command,
            "```",
            "",
            f"- Machine: {info['cpu']}, {info['cores']} cores, {info['os']}",
            f"- Python {info['python']}; {versions()}; {postgres_version()}",
            "",
        ]
    )


def section(name: str, ran: str, out: str, seconds: float) -> str:
    """One benchmark's part of the page, between its own markers."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join(
        [
            f"<!-- section:{name} -->",
            f"### {TITLES[name]}",
            "",
            f"`{ran}` (run {when}, {seconds / 60:.0f} min)",
            "",
            out,
            "",
            f"<!-- /section:{name} -->",
        ]
    )


def merge(page: str, head: str, sections: dict[str, str]) -> str:
    """The page with this run's sections in place of the same sections of earlier runs."""
    if BEGIN in page and END in page:
        before, rest = page.split(BEGIN, 1)
        block, after = rest.split(END, 1)
    else:
        before, block, after = page, "", "\n"
    known = {
        match.group(1): match.group(0)
        for match in re.finditer(r"<!-- section:(\w+) -->.*?<!-- /section:\1 -->", block, re.S)
    }
    known.update(sections)
    ordered = [known[name] for name in TITLES if name in known]
    return before + BEGIN + "\n" + head + "\n" + "\n\n".join(ordered) + "\n" + END + after


def main(argv: Sequence[str] | None = None) -> None:
    """Run everything (or the sections named) and write them into the page."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="+", choices=list(TITLES), default=list(TITLES))
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "performance.md")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    sections = {}
    for name, module, arguments in plan:
        if name in args.only:
            sections[name] = section(name, *run(name, module, arguments))
    if args.quick:
        return  # smoke figures never replace the documented ones
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    page = args.doc.read_text() if args.doc.exists() else ""
    # The written analysis around the results stays; only the figures are replaced.
    args.doc.write_text(merge(page, header("python -m benchmarks.run_all"), sections))
    print(f"\nwrote {args.doc}")


if __name__ == "__main__":
    main()
