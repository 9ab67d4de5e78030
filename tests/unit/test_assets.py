"""The console's npm files: one list of them, and a server that will not start without them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from galactic_goofs import cli
from galactic_goofs.web import assets

PACKAGE = Path(assets.__file__).resolve().parents[1]


def test_the_list_names_exactly_the_vendor_files_the_pages_load() -> None:
    referenced = {
        name
        for template in PACKAGE.glob("**/templates/*.html")
        for name in re.findall(r"/static/vendor/([\w.-]+)", template.read_text())
    }

    assert "htmx.min.js" in referenced
    assert set(assets.required()) == referenced


def test_a_vendor_directory_with_every_file_lacks_nothing(tmp_path: Path) -> None:
    for name in assets.required():
        (tmp_path / name).write_text("/* vendored */")

    assert assets.missing(tmp_path) == []
    assert assets.missing_message(tmp_path) is None


def test_serve_without_the_files_says_so_in_one_line_before_touching_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "vendor"
    empty.mkdir()
    (empty / "htmx.min.js").write_text("/* the only one there */")
    monkeypatch.setattr(assets, "VENDOR", empty)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GOOFS_DATABASE_URL", f"sqlite:///{tmp_path / 'goofs.db'}")
    for step in ("_migrate", "_listen"):  # a failure here, not a server that never returns
        monkeypatch.setattr(cli, step, _must_not_run(step))

    status = cli.main(["serve", "--port", "0"])

    out, err = capsys.readouterr()
    assert status != 0
    assert len(err.splitlines()) == 1
    assert err.startswith("goofs: the console's front-end files are missing")
    assert str(empty) in err
    assert "pico.min.css" in err and "htmx.min.js" not in err
    assert "run `make assets`" in err
    assert out == ""  # no "Galactic Goofs on http://..." : it never listened
    assert not (tmp_path / "goofs.db").exists()  # nor migrated


def _must_not_run(step: str) -> object:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"{step} ran although the console's files are missing")

    return refuse
