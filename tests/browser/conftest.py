"""Browser tests: Playwright driving Debian's Chromium (`make chromium`), never a downloaded one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.support import require

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "src" / "galactic_goofs" / "web" / "static" / "vendor"
SCREENSHOTS = ROOT / "build" / "screenshots"


@pytest.fixture
def chromium() -> Path:
    require("Chromium", CHROMIUM.exists(), f"{CHROMIUM} is missing: run `make chromium`")
    require("console assets", (VENDOR / "htmx.min.js").exists(), "run `make assets`")
    return CHROMIUM


@pytest.fixture
def screenshots() -> Path:
    return SCREENSHOTS


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()
