"""Load over HTTP for benchmark 5 (`api`): gunicorn servers on free ports and wrk (or Python threads).

wrk comes from Debian: installed with apt-get when missing and we are root (BENCH_NO_APT=1 skips
that); without it a threaded Python client stands in (its GIL makes it a bottleneck of its own).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from typing import Any

from bench.report import percentile

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_WORKERS = 2
GUNICORN_THREADS = 4
HTTP_CONNECTIONS = GUNICORN_WORKERS * GUNICORN_THREADS  # enough to keep every worker thread busy
HTTP_ROUNDS = 5  # interleaved load runs per variant and kind: background load hits both alike


@dataclass
class Variant:
    """One way of serving the request: what to GET, with which headers, from which settings."""

    key: str
    label: str
    path: str
    host: str
    headers: dict[str, str]
    settings_module: str  # DJANGO_SETTINGS_MODULE of its gunicorn server


def response_checked(status: int, body: bytes | None = None) -> None:
    # A 429 would mean the bench measured refusals; anything else not 200, a broken setup.
    assert status == 200, f"HTTP {status}: {body[:300] if body else ''!r}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    key: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)  # the arbiter we started and its workers
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""


def gunicorn_start(key: str, settings_module: str, log_dir: Path) -> Server:
    port = free_port()
    log_path = log_dir / f"gunicorn-{key}.log"
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi",
        f"--bind=127.0.0.1:{port}",
        f"--workers={GUNICORN_WORKERS}",
        f"--threads={GUNICORN_THREADS}",
        "--worker-class=gthread",
        f"--error-logfile={log_path}",
        "--log-level=warning",
    ]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module}
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    return Server(key, port, process, log_path)


def wait_until_serving(server: Server, variant: Variant, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{variant.path}", headers={"Host": variant.host, **variant.headers}
    )
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn ({server.key}) exited:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                response_checked(response.status, response.read())
                return
        except (OSError, ConnectionError) as error:
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn ({server.key}) not serving: {error}\n{server.log_tail()}") from error
            time.sleep(0.2)


def wrk_available() -> str | None:
    """wrk's path, installing Debian's package when missing and we are root with apt-get."""
    found = shutil.which("wrk")
    if found or os.environ.get("BENCH_NO_APT") or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("api: installing wrk with apt-get (once per machine) …", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    # Stale package lists make the first install fail: update them and try once more.
    for commands in ([install], [["apt-get", "update", "-qq"], install]):
        for command in commands:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                subprocess.run(command, env=env, capture_output=True, timeout=180, check=False)
        if shutil.which("wrk"):
            break
    return shutil.which("wrk")


_WRK_DURATION = re.compile(r"^\s*([\d.]+)(us|ms|s)$")


def _wrk_seconds(text: str) -> float:
    match = _WRK_DURATION.match(text)
    if not match:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return float(match[1]) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[match[2]]


def request_headers(variant: Variant, *, connections: int) -> dict[str, str]:
    """With more than one connection, each request comes on a new one: gunicorn's workers accept
    greedily, and a burst of keep-alive connections often lands on one worker (measured: all 8 on
    one in half the runs, halving req/s). New connections spread evenly, as a proxy's churn does."""
    return {"Host": variant.host, **variant.headers, **({"Connection": "close"} if connections > 1 else {})}


def load_wrk(wrk: str, server: Server, variant: Variant, *, seconds: float, connections: int) -> dict[str, Any]:
    headers = [
        arg
        for name, value in request_headers(variant, connections=connections).items()
        for arg in ("-H", f"{name}: {value}")
    ]
    completed = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{seconds:.0f}s",
            "--latency",
            *headers,
            f"http://127.0.0.1:{server.port}{variant.path}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    )
    try:
        return wrk_parse(completed.stdout)
    except ValueError as error:
        raise RuntimeError(f"{error}\n{completed.stderr}") from error


def wrk_parse(out: str) -> dict[str, Any]:
    """Requests, elapsed seconds, p50/p99 seconds and failures from `wrk --latency` output."""
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", out, flags=re.MULTILINE))
    requests = re.search(r"^\s+(\d+) requests in ([\d.]+(?:us|ms|s))", out, flags=re.MULTILINE)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)$", out, flags=re.MULTILINE)
    if "50" not in latency or "99" not in latency or not requests:
        raise ValueError(f"could not read wrk's output:\n{out}")
    return {
        "requests": int(requests[1]),
        "elapsed_s": _wrk_seconds(requests[2]),
        "p50": _wrk_seconds(latency["50"]),
        "p99": _wrk_seconds(latency["99"]),
        "non_2xx": int(non_2xx[1]) if non_2xx else 0,
        "socket_errors": sum(int(n) for n in re.findall(r"\d+", errors[1])) if errors else 0,
    }


def load_python(server: Server, variant: Variant, *, seconds: float, connections: int) -> dict[str, Any]:
    """HTTP/1.1 from `connections` threads for `seconds` (the fallback without wrk; the GIL makes the
    client itself a bottleneck, so its req/s are lower than wrk's)."""
    latencies: list[list[float]] = [[] for _ in range(connections)]
    failures = [0] * connections
    errors = [0] * connections
    headers = request_headers(variant, connections=connections)
    deadline = time.perf_counter() + seconds

    def worker(index: int) -> None:
        http = HTTPConnection("127.0.0.1", server.port, timeout=30)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                http.request("GET", variant.path, headers=headers)
                response = http.getresponse()
                response.read()
            except (OSError, HTTPException):
                errors[index] += 1
                http.close()
                continue
            latencies[index].append(time.perf_counter() - started)
            failures[index] += response.status != 200
            if response.will_close:
                http.close()  # reconnects on the next request
        http.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(index,)) for index in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    samples = [value for chunk in latencies for value in chunk]
    return {
        "requests": len(samples),
        "elapsed_s": elapsed,
        "p50": percentile(samples, 50),
        "p99": percentile(samples, 99),
        "non_2xx": sum(failures),
        "socket_errors": sum(errors),
    }


def over_http(all_variants: dict[str, Variant], *, seconds: float) -> dict[str, Any]:
    """`ours` against `bare` over HTTP. Both servers are up at once (the idle one costs nothing) and the
    load takes turns: HTTP_ROUNDS rounds, each a throughput run (HTTP_CONNECTIONS connections) and a
    latency run (1 connection) of either variant, which goes first alternating. Ratios are paired
    per round, so background load hits both alike."""
    wrk = wrk_available()
    run_seconds = max(1, round(seconds / HTTP_ROUNDS))

    def load(server: Server, variant: Variant, *, connections: int, duration: int = run_seconds) -> dict[str, Any]:
        if wrk:
            return load_wrk(wrk, server, variant, seconds=duration, connections=connections)
        return load_python(server, variant, seconds=duration, connections=connections)

    runs: dict[str, dict[str, list[dict[str, Any]]]] = {key: {"throughput": [], "latency": []} for key in all_variants}
    with tempfile.TemporaryDirectory(prefix="bench-api-") as log_dir:
        servers = {key: gunicorn_start(key, v.settings_module, Path(log_dir)) for key, v in all_variants.items()}
        try:
            for key, server in servers.items():
                wait_until_serving(server, all_variants[key])
            for key, server in servers.items():  # warm every worker: imports, connections, caches
                load(server, all_variants[key], connections=HTTP_CONNECTIONS, duration=1)
            for round_index in range(HTTP_ROUNDS):
                order = list(servers) if round_index % 2 == 0 else list(reversed(servers))
                for kind, connections, duration in (("throughput", HTTP_CONNECTIONS, run_seconds), ("latency", 1, 1)):
                    for key in order:
                        runs[key][kind].append(
                            load(servers[key], all_variants[key], connections=connections, duration=duration)
                        )
        finally:
            for server in servers.values():
                server.stop()
    result: dict[str, Any] = {
        "client": "wrk" if wrk else "python threads",
        "connections": HTTP_CONNECTIONS,
        "rounds": HTTP_ROUNDS,
        "run_seconds": run_seconds,
        "rows": {},
    }
    for key, kinds in runs.items():
        for run in kinds["throughput"] + kinds["latency"]:
            run["req_per_s"] = run["requests"] / run["elapsed_s"]
        result["rows"][key] = {
            "req_per_s": percentile([r["req_per_s"] for r in kinds["throughput"]], 50),
            "p50_loaded": percentile([r["p50"] for r in kinds["throughput"]], 50),
            "p99_loaded": percentile([r["p99"] for r in kinds["throughput"]], 50),
            "p50_single": percentile([r["p50"] for r in kinds["latency"]], 50),
            "p99_single": percentile([r["p99"] for r in kinds["latency"]], 50),
            "failed": sum(r["non_2xx"] + r["socket_errors"] for r in kinds["throughput"] + kinds["latency"]),
            "runs": kinds,
        }
    ours, bare = runs["ours"], runs["bare"]
    ratios = [o["req_per_s"] / b["req_per_s"] for o, b in zip(ours["throughput"], bare["throughput"], strict=True)]
    added = [o["p50"] - b["p50"] for o, b in zip(ours["latency"], bare["latency"], strict=True)]
    result.update(
        throughput_ratio=percentile(ratios, 50),
        throughput_ratios=ratios,
        added_p50_s=percentile(added, 50),
        added_p50s=added,
    )
    return result
