"""The board's range line and pager, kept true by the live stream alone."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, expect

from tests.browser.console import Console, create
from tests.support import Running

DASH = "\N{EN DASH}"


async def test_the_range_line_and_pager_follow_spacecraft_arriving_on_an_empty_board(
    goofs_sqlite: Running, browser: Browser, screenshots: Path
) -> None:
    console = await Console.open(await browser.new_context(), goofs_sqlite.url)
    board = console.page.locator("#board")
    range_line = board.locator(".range")
    next_page = board.get_by_role("button", name="Next")
    await expect(range_line).to_have_text("None · page 1 of 1")
    await expect(board.locator(".empty")).to_be_visible()
    snapshots: list[str] = []
    console.page.on(
        "request",
        lambda request: snapshots.append(request.url) if "snapshot" in request.url else None,
    )

    ids = [await create(goofs_sqlite, f"Cubesat {n:02d}", f"2020-{n:03d}A") for n in range(1, 4)]

    await expect(range_line).to_have_text(f"1{DASH}3 of 3 · page 1 of 1")
    await expect(board.locator(".empty")).to_be_hidden()
    await expect(next_page).to_be_disabled()

    for n in range(4, 52):
        await create(goofs_sqlite, f"Cubesat {n:02d}", f"2020-{n:03d}A")
    await expect(range_line).to_have_text(f"1{DASH}50 of 51 · page 1 of 2")
    await expect(console.page.locator("#fleet-rows tr")).to_have_count(50)
    await console.page.screenshot(path=screenshots / "board-range-live.png", full_page=True)

    assert snapshots == []

    await next_page.click()
    await expect(range_line).to_have_text(f"51{DASH}51 of 51 · page 2 of 2")
    await expect(console.row("Cubesat 51")).to_be_visible()
    await board.get_by_role("button", name="Previous").click()
    await expect(range_line).to_have_text(f"1{DASH}50 of 51 · page 1 of 2")

    # The next page's first row slides up: only then does the board ask the server.
    response = await goofs_sqlite.client.delete(f"/api/v1/spacecraft/{ids[0]}")
    assert response.status_code == 204
    await expect(range_line).to_have_text(f"1{DASH}50 of 50 · page 1 of 1")
    await expect(console.row("Cubesat 51")).to_be_visible()
    await expect(next_page).to_be_disabled()
    assert console.errors == []


async def test_a_searched_board_counts_its_matches_live(
    goofs_sqlite: Running, browser: Browser
) -> None:
    context = await browser.new_context()
    console = await Console.open(context, f"{goofs_sqlite.url}/?q=probe")
    range_line = console.page.locator("#board .range")
    await expect(range_line).to_have_text("None · page 1 of 1")
    await expect(console.page.locator("#board .empty")).to_have_text("No spacecraft match.")

    probe = await create(goofs_sqlite, "Parker Solar Probe", "2018-065A")
    await create(goofs_sqlite, "Voyager 1", "1977-084A")
    await expect(range_line).to_have_text(f"1{DASH}1 of 1 · page 1 of 1")
    await expect(console.page.locator("#fleet-rows tr")).to_have_count(1)

    response = await goofs_sqlite.client.delete(f"/api/v1/spacecraft/{probe}")
    assert response.status_code == 204
    await expect(range_line).to_have_text("None · page 1 of 1")
    await expect(console.page.locator("#board .empty")).to_be_visible()
    assert console.errors == []
