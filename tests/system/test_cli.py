"""`goofs` as a newcomer runs it: a real process, a fresh directory, no services."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx

from devkit.ports import free_port
from galactic_goofs.cli import _listen
from tests.support import cli_token, goofs_process, run_goofs


def test_serve_creates_a_sqlite_database_in_the_working_directory(tmp_path: Path) -> None:
    port = free_port()

    with goofs_process(["serve", "--port", str(port)], {}, tmp_path, port=port):
        token = cli_token({}, tmp_path)
        base = f"http://127.0.0.1:{port}"
        created = httpx.post(
            f"{base}/api/v1/spacecraft",
            json={"name": "Hubble", "cospar_id": "1990-037B"},
            headers={"Authorization": f"Bearer {token}"},
        )
        listed = httpx.get(f"{base}/api/v1/spacecraft")
        ready = httpx.get(f"{base}/readyz")

    assert created.status_code == 201
    assert listed.json()["total"] == 1
    assert ready.status_code == 200
    assert (tmp_path / "galactic_goofs.db").exists()


def test_a_dot_env_file_is_honoured(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("GOOFS_DATABASE_URL=sqlite:///./from-dotenv.db\n")

    result = subprocess.run(
        [sys.executable, "-m", "galactic_goofs.cli", "migrate"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    assert (tmp_path / "from-dotenv.db").exists()
    assert not (tmp_path / "galactic_goofs.db").exists()


def test_serve_without_migrations_refuses_to_pretend(tmp_path: Path) -> None:
    port = free_port()

    with goofs_process(["serve", "--port", str(port), "--no-migrate"], {}, tmp_path) as process:
        output = process.communicate(timeout=30)[0].decode()

    assert process.returncode != 0
    assert "run `goofs migrate`" in output


def test_a_bad_setting_is_named_in_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "galactic_goofs.cli", "migrate"],
        cwd=tmp_path,
        env={"GOOFS_MALFUNCTION_INTERVAL": "-1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert "GOOFS_MALFUNCTION_INTERVAL" in result.stderr
    assert "greater than or equal to 0" in result.stderr


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_goofs(["serve", "--port", str(port)], {}, tmp_path)

    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_connection_inherits_the_capped_send_buffer() -> None:
    # Uncapped, Linux lets a connection whose client stopped reading park megabytes in the
    # kernel; capped, the stall reaches the hub's bounded queue within seconds.
    listener = _listen("127.0.0.1", 0, 64 * 1024)
    with listener, socket.create_connection(listener.getsockname()):
        accepted, _ = listener.accept()
        with accepted:
            size = accepted.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
    assert size == 2 * 64 * 1024  # Linux doubles what it is given, for its own bookkeeping
    uncapped = _listen("127.0.0.1", 0, 0)
    with uncapped:
        assert uncapped.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) != 2 * 64 * 1024
