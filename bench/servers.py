"""Servers under test, each a fresh process pinned to its own core, with its CPU and memory."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench import gc_pauses
from devkit.ports import free_port
from devkit.processes import stop

PRIORITY = -10
"""Nice value for everything the benchmark runs (needs root; silently skipped otherwise)."""


@dataclass
class Cores:
    server: set[int]
    clients: set[int]

    @classmethod
    def split(cls) -> Cores:
        """First core for the server, the rest for the harness (all shared on one core)."""
        available = sorted(os.sched_getaffinity(0))
        if len(available) < 2:
            return cls(set(available), set(available))
        return cls({available[0]}, set(available[1:]))


def claim(cores: set[int]) -> None:
    """Run on `cores`, ahead of unrelated work on a shared machine where we are allowed to."""
    os.sched_setaffinity(0, cores)
    with contextlib.suppress(PermissionError):
        os.setpriority(os.PRIO_PROCESS, 0, PRIORITY)


@dataclass
class Server:
    kind: str
    port: int
    process: subprocess.Popen[bytes]
    token: str | None = None
    """An operator's API token: only operators change the fleet."""
    admin_token: str | None = None
    """An admin's API token (with `running(..., admin=True)`): only admins add webhooks."""
    gc_log: Path | None = None
    """Where the server writes down its long collector pauses (`bench.gc_pauses`)."""

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)

    def peak_rss_mb(self) -> float:
        """The kernel's high-water mark of resident memory over the process's life."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def longest_gc_pause_ms(self, since: float, until: float) -> float:
        """The longest collector pause that started between two `time.monotonic()` readings."""
        return gc_pauses.longest_pause_ms(self.gc_log, since, until) if self.gc_log else 0.0


SPEED_PROBE = """
import time
started = time.perf_counter()
total = 0
for number in range(2_000_000):
    total += number
print(time.perf_counter() - started)
"""


def core_speed_ms(cores: set[int]) -> float:
    """Milliseconds a fixed pure-Python loop takes on `cores` now: a virtual machine's speed
    drifts with its neighbours, so each scenario records how fast its core was."""
    probe = subprocess.run(
        [sys.executable, "-c", SPEED_PROBE],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=lambda: claim(cores),
    )
    return float(probe.stdout) * 1000


@contextlib.contextmanager
def running(
    kind: str,
    workdir: Path,
    cores: Cores,
    database: Path | None = None,
    settings: dict[str, str] | None = None,
    *,
    admin: bool = False,
) -> Iterator[Server]:
    """`goofs serve` on a copy of `database` (or an empty one), or the floor broadcaster.

    `settings` with a `GOOFS_DATABASE_URL` (PostgreSQL, say) put the server on that database
    instead, as is."""
    port = free_port()
    env = {
        **os.environ,
        "GOOFS_MALFUNCTION_INTERVAL": "0",
        # The per-instance stream cap guards a deployment; here one instance takes 10,000.
        "GOOFS_MAX_STREAMS": "20000",
        "PYTHONUNBUFFERED": "1",
        **(settings or {}),
    }
    if kind == "goofs":
        if "GOOFS_DATABASE_URL" not in (settings or {}):
            db_file = workdir / f"goofs-{port}.db"
            if database is not None:
                for suffix in ("", "-wal"):
                    if Path(f"{database}{suffix}").exists():
                        shutil.copyfile(f"{database}{suffix}", f"{db_file}{suffix}")
            env["GOOFS_DATABASE_URL"] = f"sqlite:///{db_file}"
        token = _operator_token(env)
        admin_token = _operator_token(env, "bench-admin", role="admin") if admin else None
        command = ["galactic_goofs.cli", "serve", "--port", str(port)]
    else:
        token = admin_token = None
        command = ["bench.floor", "--port", str(port)]
    gc_log = workdir / f"{kind}-{port}.gc"
    command = [sys.executable, "-m", "bench.gc_pauses", str(gc_log), *command]
    log = (workdir / f"{kind}-{port}.log").open("wb")
    server_cores = cores.server
    process = subprocess.Popen(
        command,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=lambda: claim(server_cores),
    )
    profiler = None
    try:
        _wait_until_listening(port, process, workdir / f"{kind}-{port}.log")
        if profile_dir := os.environ.get("BENCH_PROFILE_DIR"):
            # Collapsed stacks of the whole run; `--nonblocking` keeps the server's timing intact.
            profiler = subprocess.Popen(
                [
                    # The project's own py-spy, beside this interpreter (a dev dependency).
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "--pid",
                    str(process.pid),
                    "--format",
                    "raw",
                    "--nonblocking",
                    "--rate",
                    "200",
                    "-o",
                    f"{profile_dir}/{kind}-{port}.txt",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=lambda: os.sched_setaffinity(0, cores.clients),
            )
        yield Server(kind, port, process, token, admin_token, gc_log)
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=30)
        stop(process, timeout=15)
        log.close()


def _operator_token(env: dict[str, str], name: str = "bench", role: str = "operator") -> str:
    """An API token for a bench operator, added to the database first if it is new there."""

    def goofs(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "galactic_goofs.cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    goofs("migrate").check_returncode()
    # Fails if it exists: fine.
    goofs("user", "add", name, "--role", role, stdin="bench-operator-password\n")
    created = goofs(
        "token", "create", "--user", name, *(["--scope", "admin"] if role == "admin" else [])
    )
    created.check_returncode()
    return created.stdout.strip()


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port} within 60 s")


@contextlib.contextmanager
def serving(env: dict[str, str], cwd: Path, cores: set[int] | None = None) -> Iterator[str]:
    """`goofs serve` on a free loopback port with `env`, on `cores` when given, until it
    answers `/readyz`; its URL. Stopped on the way out. For the benches of one page or query
    (`bench.orbits`, `bench.triage`, `bench.analytics`)."""
    import httpx

    port = free_port()
    command = [sys.executable, "-m", "galactic_goofs.cli", "serve", "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=(lambda: claim(cores)) if cores else None,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("goofs serve did not become ready")
            time.sleep(0.2)
        yield url
    finally:
        stop(process, timeout=30)
