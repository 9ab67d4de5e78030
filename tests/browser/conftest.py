"""Browser tests: Playwright driving Debian's Chromium (`make chromium`), never a downloaded one."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright
from playwright.async_api import Error as PlaywrightError

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
async def browser(chromium: Path, request: pytest.FixtureRequest) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            yield browser
            await keep_last_look(browser, request.node.name)
        finally:
            await browser.close()


async def keep_last_look(browser: Browser, test_name: str) -> None:
    """Each browser context's first open page as the test left it, to look at by eye."""
    name = re.sub(r"[^\w-]+", "-", test_name).strip("-")
    for number, context in enumerate(browser.contexts):
        if context.pages:
            path = SCREENSHOTS / "tests" / f"{name}-{number}.png"
            with contextlib.suppress(PlaywrightError):  # a page the test broke on purpose
                await context.pages[0].screenshot(path=path, full_page=True)
