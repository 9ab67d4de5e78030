"""Run a server module with a record of its long garbage-collector pauses.

`python -m bench.gc_pauses LOG MODULE ARGS...` runs `python -m MODULE ARGS...` in this process
after hooking `gc.callbacks`: every collection that holds the loop for `LONG_PAUSE` or more is
appended to LOG as `<monotonic start> <milliseconds> <generation>`. The harness reads the lines
that fall inside a scenario's run, so a latency outlier can be told apart from a collector pause.
"""

from __future__ import annotations

import gc
import runpy
import sys
import time
from pathlib import Path
from typing import Any

LONG_PAUSE = 0.005
"""Seconds. Shorter collections are the normal cost of running and are not written down."""


def record_long_pauses(log: Path) -> None:
    out = log.open("a", buffering=1)
    started = 0.0

    def callback(phase: str, info: dict[str, Any]) -> None:
        nonlocal started
        if phase == "start":
            started = time.monotonic()
            return
        took = time.monotonic() - started
        if took >= LONG_PAUSE:
            out.write(f"{started:.6f} {took * 1000:.1f} {info['generation']}\n")

    gc.callbacks.append(callback)


def longest_pause_ms(log: Path, since: float, until: float) -> float:
    """The longest pause that started in [since, until] (0 when none was long)."""
    if not log.exists():
        return 0.0
    longest = 0.0
    for line in log.read_text().splitlines():
        started, took, _generation = line.split()
        if since <= float(started) <= until:
            longest = max(longest, float(took))
    return longest


if __name__ == "__main__":
    log, module, *args = sys.argv[1:]
    record_long_pauses(Path(log))
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
