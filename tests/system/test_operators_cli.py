"""`goofs user add`, `goofs token create`, and the first operator on a fresh database."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from devkit.ports import free_port
from tests.support import goofs_process, run_goofs, wait_until

HUBBLE = {"name": "Hubble Space Telescope", "cospar_id": "1990-037B"}
FIRST_OPERATOR_LINE = re.compile(r"Created operator 'admin' with password '([^']+)'")


def goofs(args: list[str], env: dict[str, str], cwd: Path, stdin: str = "") -> tuple[int, str]:
    """Exit status and standard output; the logs (standard error) only when it failed."""
    done = run_goofs(args, env, cwd, stdin)
    return done.returncode, done.stdout if done.returncode == 0 else done.stderr


def log_text(log: Path) -> str:
    return log.read_text(errors="replace")


async def first_operator_password(log: Path) -> str | None:
    """The password `goofs serve` printed for `admin`, once it has started (None if it did not)."""
    await wait_until(
        lambda: "Galactic Goofs on http://" in log_text(log), message="uvicorn to start"
    )
    match = FIRST_OPERATOR_LINE.search(log_text(log))
    return match.group(1) if match else None


async def sign_in(url: str, name: str, password: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url) as browser:
        page = await browser.get("/signin")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        return await browser.post(
            "/signin", data={"name": name, "password": password, "csrf_token": token.group(1)}
        )


async def test_an_operator_added_on_the_command_line_can_create_a_working_token(
    tmp_path: Path,
) -> None:
    env = {"GOOFS_DATABASE_URL": f"sqlite:///{tmp_path / 'goofs.db'}"}

    added, output = goofs(["user", "add", "ripley"], env, tmp_path, stdin="nostromo-1979\n")
    assert added == 0, output
    assert "operator 'ripley' added" in output
    duplicate, output = goofs(["user", "add", "ripley"], env, tmp_path, stdin="another-one\n")
    assert duplicate == 1
    assert "already exists" in output
    too_short, output = goofs(["user", "add", "newt"], env, tmp_path, stdin="short\n")
    assert too_short == 1
    assert "8 to 1024 characters" in output
    no_such, output = goofs(["token", "create", "--user", "burke"], env, tmp_path)
    assert no_such == 1
    assert "no operator named 'burke'" in output
    created, output = goofs(["token", "create", "--user", "ripley"], env, tmp_path)
    assert created == 0, output
    token = output.strip()
    assert token.startswith("goofs_")

    port = free_port()
    log = tmp_path / "serve.log"
    with goofs_process(["serve", "--port", str(port)], env, tmp_path, port=port, log=log):
        url = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=url) as client:
            response = await client.post("/api/v1/spacecraft", json=HUBBLE, headers=headers)
            events = (await client.get("/api/v1/events")).json()["items"]
        signed_in = await sign_in(url, "ripley", "nostromo-1979")
        await wait_until(
            lambda: "Galactic Goofs on http://" in log_text(log), message="uvicorn to start"
        )

    assert response.status_code == 201, response.text
    assert [event["actor"] for event in events] == ["ripley"]
    assert signed_in.status_code == 303
    assert "Created operator" not in log_text(log)  # there already was one


async def test_a_fresh_database_gets_an_admin_whose_password_is_printed_once(
    tmp_path: Path,
) -> None:
    env = {"GOOFS_DATABASE_URL": f"sqlite:///{tmp_path / 'goofs.db'}"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    with goofs_process(["serve", "--port", str(port)], env, tmp_path, port=port, log=first_log):
        password = await first_operator_password(first_log)
        assert password
        assert (await sign_in(url, "admin", password)).status_code == 303
        assert (await sign_in(url, "admin", "not-the-password")).status_code == 401

    with goofs_process(["serve", "--port", str(port)], env, tmp_path, port=port, log=second_log):
        assert await first_operator_password(second_log) is None
        assert (await sign_in(url, "admin", password)).status_code == 303


def test_operators_and_tokens_are_managed_on_the_command_line_with_one_line_refusals(
    tmp_path: Path,
) -> None:
    env = {"GOOFS_DATABASE_URL": f"sqlite:///{tmp_path / 'goofs.db'}"}

    def refused(args: list[str], reason: str, stdin: str = "") -> None:
        done = run_goofs(args, env, tmp_path, stdin)
        assert done.returncode != 0, done.stdout
        assert done.stderr.strip().splitlines() == [f"goofs: {reason}"], done.stderr

    assert goofs(["user", "add", "boss", "--role", "admin"], env, tmp_path, "password-1\n")[0] == 0
    assert goofs(["user", "add", "dallas"], env, tmp_path, "password-2\n")[0] == 0
    refused(
        ["user", "add", "kane", "--role", "captain"],
        "unknown role 'captain': choose one of viewer, operator, admin",
        "password-3\n",
    )
    refused(["user", "role", "nobody", "viewer"], "no operator named 'nobody'")
    refused(
        ["user", "role", "boss", "operator"],
        "'boss' is the last enabled admin and cannot "
        "be made operator: make another operator an admin first",
    )
    refused(
        ["user", "disable", "boss"],
        "'boss' is the last enabled admin and cannot be "
        "disabled: make another operator an admin first",
    )
    assert goofs(["user", "role", "dallas", "viewer"], env, tmp_path)[0] == 0
    assert goofs(["user", "disable", "dallas"], env, tmp_path)[0] == 0
    status, listing = goofs(["user", "list"], env, tmp_path)
    assert status == 0
    assert [line.split()[:3] for line in listing.splitlines()] == [
        ["NAME", "ROLE", "ENABLED"],
        ["boss", "admin", "yes"],
        ["dallas", "viewer", "no"],
    ]
    assert goofs(["user", "enable", "dallas"], env, tmp_path)[0] == 0
    assert goofs(["user", "passwd", "dallas"], env, tmp_path, "a-new-password\n")[0] == 0

    refused(
        ["token", "create", "--user", "dallas", "--scope", "write"],
        "'dallas' is a viewer: "
        "a token with scope 'write' would claim more than the operator may do",
    )
    refused(
        ["token", "create", "--user", "boss", "--scope", "root"],
        "unknown scope 'root': choose one of read, write, admin",
    )
    refused(
        ["token", "create", "--user", "boss", "--expires", "soon"],
        "--expires must be a whole number from 1, not 'soon'",
    )
    created = run_goofs(
        ["token", "create", "--user", "boss", "--scope", "admin", "--expires", "30"], env, tmp_path
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.splitlines()[-1].split()[-1]
    assert token.startswith("goofs_")
    assert "scope admin, expires" in created.stderr
    viewer_token = cli_token_for(env, tmp_path, "dallas")
    status, listing = goofs(["token", "list"], env, tmp_path)
    assert status == 0
    assert token not in listing and viewer_token not in listing
    rows = [line.split() for line in listing.splitlines()]
    assert rows[0] == ["ID", "OWNER", "SCOPE", "CREATED", "EXPIRES", "LAST", "USED"]
    assert [row[1:3] for row in rows[1:]] == [["boss", "admin"], ["dallas", "read"]]
    status, only_dallas = goofs(["token", "list", "--user", "dallas"], env, tmp_path)
    assert [line.split()[1] for line in only_dallas.splitlines()[1:]] == ["dallas"]
    assert goofs(["token", "revoke", rows[1][0]], env, tmp_path)[0] == 0
    refused(["token", "revoke", rows[1][0]], f"no token with id {rows[1][0]}")
    status, listing = goofs(["token", "list"], env, tmp_path)
    assert [line.split()[1] for line in listing.splitlines()[1:]] == ["dallas"]


def cli_token_for(env: dict[str, str], cwd: Path, name: str) -> str:
    created = run_goofs(["token", "create", "--user", name], env, cwd)
    assert created.returncode == 0, created.stderr
    return created.stdout.split()[-1]
