"""The console's third-party files (htmx, Pico CSS, Swagger UI): which it needs, and whether
they are there.

They come from npm and are git-ignored, so a source tree has them only after `make assets`
(which copies the files `vendor.txt` lists); a wheel or an image carries them. Without them the
console would still render, but as a page whose script and styles fail to load.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
VENDOR = HERE / "static" / "vendor"
MANIFEST = HERE / "vendor.txt"


def required() -> list[str]:
    """The file names `static/vendor/` must hold: the first column of `vendor.txt`."""
    lines = MANIFEST.read_text().splitlines()
    return [line.split()[0] for line in lines if line.strip() and not line.startswith("#")]


def missing(directory: Path | None = None) -> list[str]:
    """The required files `directory` (by default `static/vendor/`) lacks."""
    directory = directory or VENDOR
    return [name for name in required() if not (directory / name).is_file()]


def missing_message(directory: Path | None = None) -> str | None:
    """One line that says what is missing and how to get it, or None when nothing is."""
    directory = directory or VENDOR
    absent = missing(directory)
    if not absent:
        return None
    return (
        f"the console's front-end files are missing from {directory} ({', '.join(absent)}); "
        "run `make assets` in the source tree, or install a wheel built by `make dist`"
    )
