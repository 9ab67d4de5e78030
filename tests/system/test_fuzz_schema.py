"""Schemathesis fuzzes the documented API as an admin (so the operator and token routes are
exercised too): no 5xx, no response off its schema."""

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
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


@pytest.mark.timeout(180)
def test_fuzzing_the_api_as_an_admin_finds_no_server_error(
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
                "run",
                f"http://127.0.0.1:{port}/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                # A stream never ends; its contract has its own tests.
                "--exclude-path",
                "/api/v1/events/stream",
                "--checks",
                CHECKS,
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
    counts = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert counts, run.stdout
    generated, passed = map(int, counts.groups())
    assert generated == passed
    assert generated >= 100, "the fuzzer exercised the API"
