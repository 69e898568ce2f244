"""Shared benchmark plumbing: the fake-platform server process, CPU and memory, tables.

Every figure is measured in a child process of its own, so its peak RSS and CPU are its own and
no variant inherits another's warm caches or heap. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get(
    "COLLECTOR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds() -> float:
    """User + system CPU of this process so far, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB.

    Linux's ``VmHWM`` belongs to this program image; ``ru_maxrss`` would also count the parent's
    memory at the fork that started us, whatever we used since.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class FakeServer:
    """``python -m tests.fakeplatform`` in a process of its own, so its CPU is not ours."""

    def __init__(self, *, latency_ms: float = 0.0, posts: int = 12) -> None:
        self.port = free_port()
        self.latency_ms = latency_ms
        self.posts = posts
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's root URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        """Start the process and wait (at most 30 s) until it answers."""
        command = [
            sys.executable,
            "-m",
            "tests.fakeplatform",
            "--port",
            str(self.port),
            "--latency-ms",
            str(self.latency_ms),
            "--posts",
            str(self.posts),
            "--rate-limit",
            str(10**9),
        ]
        self._process = subprocess.Popen(command, cwd=ROOT)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.calls()
                return self
            except OSError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    self.stop()
                    raise RuntimeError("the fake-platform server did not start") from None
                time.sleep(0.05)

    def calls(self) -> dict[str, int]:
        """Requests served so far, by ``platform/endpoint``."""
        return calls_at(self.url)

    def stop(self) -> None:
        """End the process we started (by its own id)."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def calls_at(root: str) -> dict[str, int]:
    """Requests the fake-platform server at ``root`` has served so far, by ``platform/endpoint``."""
    with urllib.request.urlopen(f"{root}/_calls", timeout=10) as response:  # noqa: S310
        counted: dict[str, int] = json.loads(response.read())
        return counted


def diff_calls(before: dict[str, int], after: dict[str, int], prefix: str) -> dict[str, int]:
    """Calls made between two readings, for one platform, by endpoint."""
    return {
        key.split("/", 1)[1]: after[key] - before.get(key, 0)
        for key in sorted(after)
        if key.startswith(prefix + "/") and after[key] - before.get(key, 0)
    }


def run_child(module: str, args: Sequence[str], *, timeout: float = 900) -> dict[str, Any]:
    """Run ``python -m module args`` and return the JSON object on its last output line."""
    command = [sys.executable, "-m", module, *args]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"{module} {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}"
        )
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def median_of(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Field-by-field median of several runs (numbers); other fields from the first run."""
    merged = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            merged[key] = statistics.median(float(run[key]) for run in runs)
    merged["runs"] = len(runs)
    return merged


@dataclass(frozen=True)
class Column:
    """One column of a printed table: header, key in the row dict, number format."""

    header: str
    key: str
    fmt: str = "{:.2f}"


def table(rows: Sequence[dict[str, Any]], columns: Sequence[Column]) -> str:
    """A Markdown table (aligned for the terminal too)."""
    cells = [[c.header for c in columns]]
    for row in rows:
        line = []
        for c in columns:
            value = row.get(c.key)
            if value is None:
                line.append("–")
            elif isinstance(value, int | float) and not isinstance(value, bool):
                line.append(c.fmt.format(value))
            else:
                line.append(str(value))
        cells.append(line)
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    out = []
    for n, r in enumerate(cells):
        out.append("| " + " | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


def emit(result: dict[str, Any]) -> None:
    """Print a child's result as the one JSON line its parent reads."""
    print(json.dumps(result, default=str), flush=True)
