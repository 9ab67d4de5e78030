"""Schemathesis holds the documented API to every check it has, as an admin, on every route.

Every check (`--checks all`): no 5xx, every answer as documented (status, headers, body), every
schema-valid request accepted and every schema-invalid one refused, a method a path lacks a 405
listing the ones it has. As an admin, so the operator, token and audit routes are exercised
too, not only refused. Routes are not listed here: a new one is fuzzed from the day it is
documented, and the test fails if any documented operation was left untested.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.ports import free_port
from tests.support import goofs_process, run_goofs

# Bounded so the whole run stays in seconds; raise locally to dig deeper.
MAX_EXAMPLES = int(os.environ.get("GOOFS_FUZZ_EXAMPLES", "25"))
CONFIG = Path(__file__).with_name("schemathesis.toml")
"""The few operations whose rules on the moment or the data answer 422 to well-formed input."""
STREAM = "/api/v1/events/stream"
"""The one route left out: a stream never ends, and its contract has tests of its own."""


@pytest.mark.timeout(180)
def test_fuzzing_every_route_as_an_admin_finds_no_break_of_the_contract(
    database_url: str, tmp_path: Path
) -> None:
    env = {"GOOFS_DATABASE_URL": database_url}
    added = run_goofs(["user", "add", "fuzzer", "--role", "admin"], env, tmp_path, "fuzz-pass\n")
    assert added.returncode == 0, added.stderr
    created = run_goofs(["token", "create", "--user", "fuzzer", "--scope", "admin"], env, tmp_path)
    assert created.returncode == 0, created.stderr
    token = created.stdout.split()[-1]
    port = free_port()

    log = tmp_path / "serve.log"
    with goofs_process(["serve", "--port", str(port)], env, tmp_path, port=port, log=log):
        run = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "--config-file",
                str(CONFIG),
                "run",
                f"http://127.0.0.1:{port}/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--exclude-path",
                STREAM,
                "--checks",
                "all",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                "5",
                "--request-timeout",
                "10",
                "--workers",
                "1",
                "--report-dir",
                str(tmp_path / "schemathesis-report"),
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=150,
        )

    assert run.returncode == 0, run.stdout + run.stderr
    operations = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", run.stdout)
    assert operations, run.stdout
    selected, documented, tested = map(int, operations.groups())
    assert selected == tested == documented - 1, "every operation but the stream was fuzzed"
    counts = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert counts, run.stdout
    generated, passed = map(int, counts.groups())
    assert generated == passed
    assert generated >= 100, "the fuzzer exercised the API"
