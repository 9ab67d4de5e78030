"""What the system tests share: the distributions `make dist` builds from this tree."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Dist:
    wheel: Path
    sdist: Path


@pytest.fixture(scope="session")
def dist() -> Dist:
    """`make dist`, run by the tests themselves: they check what it builds from this very tree,
    and a fresh clone needs nothing built by hand first."""
    # Run as a make of its own, not as a part of an enclosing `make test`.
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(("MAKE", "MFLAGS"))
    }
    result = subprocess.run(
        ["make", "--no-print-directory", "dist"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    built = sorted(path.name for path in (ROOT / "dist").iterdir())
    wheels = [name for name in built if name.endswith(".whl")]
    sdists = [name for name in built if name.endswith(".tar.gz")]
    assert len(wheels) == len(sdists) == 1 and len(built) == 2, f"dist/ holds {built}"
    return Dist(ROOT / "dist" / wheels[0], ROOT / "dist" / sdists[0])
