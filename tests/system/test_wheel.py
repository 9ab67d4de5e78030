"""The wheel `make dist` builds, installed into a fresh venv and run away from the source tree,
serves a working console: the npm files its pages load come with it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from devkit.ports import free_port
from devkit.processes import stop
from galactic_goofs.web import assets
from tests.support import LOOPBACK_SSL, wait_for_http
from tests.system.conftest import ROOT, Dist

UV = ROOT / ".tools" / "bin" / "uv"
CONTENT_TYPES = {
    ".js": {"text/javascript", "application/javascript"},
    ".css": {"text/css"},
    ".json": {"application/json"},
}
PAGES = ("/", "/signin", "/docs", "/map")


def run(command: list[str | Path], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}{result.stderr}"
    return result.stdout


def outside_env(venv: Path, **extra: str) -> dict[str, str]:
    """This environment without anything that points at the source tree or its venv."""
    leaks = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in leaks and not name.startswith("GOOFS_")
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return {**env, **extra}


@pytest.fixture(scope="module")
def venv(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the locked runtime requirements and the wheel: nothing else."""
    where = tmp_path_factory.mktemp("installed")
    venv = where / "venv"
    env = outside_env(venv)
    requirements = where / "requirements.txt"
    export = ["export", "--frozen", "--no-dev", "--no-emit-project", "--quiet"]
    run([UV, *export, "--output-file", requirements], ROOT, env)
    run([UV, "venv", "--quiet", "--python", sys.executable, venv], where, env)
    python = ["--python", venv / "bin" / "python"]
    run([UV, "pip", "install", "--quiet", *python, "--requirement", requirements], where, env)
    run([UV, "pip", "install", "--quiet", *python, "--no-deps", dist.wheel], where, env)
    run([UV, "pip", "check", "--quiet", *python], where, env)
    return venv


@dataclass(frozen=True)
class Served:
    client: httpx.Client
    goofs: Path
    env: dict[str, str]
    workdir: Path


@pytest.fixture(scope="module")
def served(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`goofs serve` from the venv, in an empty directory, on SQLite and a loopback port."""
    workdir = tmp_path_factory.mktemp("workdir")
    port = free_port()
    env = outside_env(
        venv,
        GOOFS_DATABASE_URL=f"sqlite:///{workdir / 'goofs.db'}",
        GOOFS_MALFUNCTION_INTERVAL="0",
    )
    goofs = venv / "bin" / "goofs"
    log = workdir / "goofs.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [goofs, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_http(f"{base}/healthz", process, timeout=30)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{log.read_text()}") from None
        with httpx.Client(base_url=base, timeout=10, verify=LOOPBACK_SSL) as client:
            yield Served(client, goofs, env, workdir)
    finally:
        stop(process)


class References(HTMLParser):
    """The scripts and stylesheets a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and attributes.get("src"):
            self.urls.append(str(attributes["src"]))
        if tag == "link" and attributes.get("rel") == "stylesheet" and attributes.get("href"):
            self.urls.append(str(attributes["href"]))


def references(page: str) -> list[str]:
    parser = References()
    parser.feed(page)
    return parser.urls


def media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


def test_the_venv_imports_the_installed_package_not_the_source_tree(
    venv: Path, tmp_path: Path
) -> None:
    where = run(
        [venv / "bin" / "python", "-c", "import galactic_goofs; print(galactic_goofs.__file__)"],
        tmp_path,
        outside_env(venv),
    )

    module = Path(where.strip()).resolve()
    assert module.is_relative_to(venv.resolve() / "lib")
    assert not module.is_relative_to(ROOT)


def test_the_installed_console_serves_every_file_its_pages_load(served: Served, dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as wheel:
        vendored = {
            name: wheel.read(f"galactic_goofs/web/static/vendor/{name}")
            for name in assets.required()
        }

    client = served.client
    pages = {path: client.get(path) for path in PAGES}
    loaded = {url: client.get(url) for page in pages.values() for url in references(page.text)}
    files = {name: client.get(f"/static/vendor/{name}") for name in vendored}

    assert {path: page.status_code for path, page in pages.items()} == dict.fromkeys(PAGES, 200)
    assert "/static/vendor/htmx.min.js" in references(pages["/"].text)
    assert {url: response.status_code for url, response in loaded.items()} == dict.fromkeys(
        loaded, 200
    )
    for url, response in loaded.items():
        assert media_type(response) in CONTENT_TYPES[Path(url).suffix], url
        assert len(response.content) > 100, url
    for name, response in files.items():
        assert response.status_code == 200, name
        assert media_type(response) in CONTENT_TYPES[Path(name).suffix], name
        assert len(response.content) > 5_000, name  # the smallest, topojson-client, is 7 kB
        assert response.content == vendored[name], name


def test_the_installed_console_goes_live(served: Served) -> None:
    # The first operator, `admin`, was created by `goofs serve` on its empty database.
    create_token = [served.goofs, "token", "create", "--user", "admin"]
    token = run(create_token, served.workdir, served.env).split()[-1]
    created = served.client.post(
        "/api/v1/spacecraft",
        json={"name": "Wheelwright", "cospar_id": "2024-001A"},
        headers={"Authorization": f"Bearer {token}"},
    )
    frame = first_frame_naming(served.client, "Wheelwright", timeout=10)

    assert created.status_code == 201, created.text
    assert 'id="craft-' in frame


def first_frame_naming(client: httpx.Client, text: str, timeout: float) -> str:
    """The console stream's first frame that mentions `text`, read from the start of the log."""
    deadline = time.monotonic() + timeout
    with client.stream("GET", "/console/stream", params={"after": 0}) as stream:
        assert stream.status_code == 200
        assert media_type(stream) == "text/event-stream"
        frame: list[str] = []
        for line in stream.iter_lines():
            if line:
                frame.append(line)
            elif any(text in part for part in frame):
                return "\n".join(frame)
            else:
                frame = []
            assert time.monotonic() < deadline, f"no frame naming {text!r} within {timeout}s"
    raise AssertionError("the console stream ended")
