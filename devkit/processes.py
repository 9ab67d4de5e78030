"""Waiting for and stopping the processes that tests and benchmarks start."""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path

import httpx


def wait_for_http(
    url: str, process: subprocess.Popen[bytes], timeout: float = 30.0, log: Path | None = None
) -> None:
    """Until `url` answers 200; fails with what the process wrote (its `log`, or its piped
    output) if it exits first or nothing answers within `timeout` seconds."""

    def output() -> str:
        if log is not None:
            return log.read_text()
        return process.stdout.read().decode() if process.stdout else "(see its log)"

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args!r} exited with {process.returncode}:\n{output()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise AssertionError(f"{url} did not answer within {timeout:g} s")


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM, and SIGKILL if it has not exited within `timeout` seconds; then reap it."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
