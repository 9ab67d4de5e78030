"""Triage and spacecraft pages in a real browser: live in every tab, by keyboard, on a phone."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, expect

from tests.browser.accessibility import assert_accessible
from tests.browser.console import Console, create
from tests.support import Running

PHONE = {"width": 390, "height": 844}


async def _broken(goofs: Running, name: str, cospar_id: str, **fault: str) -> dict[str, Any]:
    craft_id = await create(goofs, name, cospar_id)
    response = await goofs.client.post(f"/api/v1/spacecraft/{craft_id}/malfunction", json=fault)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    wide = await page.evaluate(
        "Array.from(document.querySelectorAll('body *')).filter(e => "
        "e.getBoundingClientRect().right > innerWidth).map(e => e.tagName + '.' + e.className + "
        "'#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 12)"
    )
    assert width <= PHONE["width"], (
        f"the page is {width} px wide on a {PHONE['width']} px phone: {wide}"
    )


async def _within_reach(page: Page, selector: str) -> None:
    """Every match sits inside the screen's width, so a thumb reaches it without scrolling
    sideways."""
    for box in await page.locator(selector).evaluate_all(
        "elements => elements.map(e => e.getBoundingClientRect().toJSON())"
    ):
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (selector, box)


async def test_an_acknowledge_in_one_tab_shows_in_another_within_a_second(
    goofs_sqlite: Running, browser: Browser
) -> None:
    goofs = goofs_sqlite
    await _broken(goofs, "Hubble", "1990-037B", severity="major")
    a = await Console.open(await browser.new_context(), goofs.url)
    b = await Console.open(await browser.new_context(), goofs.url)
    item_in_b = b.page.locator("#triage-items li.anomaly")
    await expect(item_in_b).to_contain_text("for acknowledgement")
    await expect(item_in_b.locator("time[data-waiting]")).to_have_text("under a minute")

    await a.page.get_by_role("button", name="Acknowledge the anomaly on Hubble").click()
    started = time.monotonic()
    await expect(b.row("Hubble").locator(".badge.acknowledged")).to_have_text(
        "Ack: operator", timeout=1_000
    )
    print(f"badge appeared in the other tab {1000 * (time.monotonic() - started):.0f} ms after")
    await expect(item_in_b).to_contain_text("Acknowledged by operator")
    await expect(
        b.page.get_by_role("button", name="Acknowledge the anomaly on Hubble")
    ).to_have_count(0)
    assert a.errors == [] and b.errors == []


async def test_the_triage_queue_orders_live_arrivals_by_severity_then_age(
    goofs_sqlite: Running, browser: Browser
) -> None:
    goofs = goofs_sqlite
    await _broken(goofs, "Old minor", "2001-001A", severity="minor")
    await _broken(goofs, "Old critical", "2001-002A", severity="critical")
    console = await Console.open(await browser.new_context(), goofs.url)

    await _broken(goofs, "New critical", "2001-003A", severity="critical")
    await _broken(goofs, "New major", "2001-004A", severity="major")

    await expect(console.page.locator("#triage-items .craft-link")).to_have_text(
        ["Old critical", "New critical", "New major", "Old minor"], timeout=1_000
    )
    fix = console.row("Old critical").get_by_role("button", name="Fix Old critical")
    await fix.click()
    await expect(console.page.locator("#triage-items .craft-link")).to_have_text(
        ["New critical", "New major", "Old minor"], timeout=1_000
    )


async def test_acknowledge_with_the_keyboard_alone(goofs_sqlite: Running, browser: Browser) -> None:
    goofs = goofs_sqlite
    craft = await _broken(goofs, "Chandra", "1999-040B")
    console = await Console.open(await browser.new_context(), goofs.url)
    page = console.page

    for _ in range(60):
        await page.keyboard.press("Tab")
        label = await page.evaluate("document.activeElement.getAttribute('aria-label')")
        if label == "Acknowledge the anomaly on Chandra":
            break
    else:
        raise AssertionError("Tab never reached the Acknowledge button")
    await page.keyboard.press("Enter")

    await expect(console.row("Chandra").locator(".badge.acknowledged")).to_be_visible()
    anomaly = (await goofs.client.get(f"/api/v1/anomalies/{craft['anomaly']['id']}")).json()
    assert anomaly["acknowledged_by"] == "operator"


async def test_assign_and_note_by_keyboard_with_forms_that_arrive_when_opened(
    goofs_sqlite: Running, browser: Browser
) -> None:
    goofs = goofs_sqlite
    craft = await _broken(goofs, "Chandra", "1999-040B")
    console = await Console.open(await browser.new_context(), goofs.url)
    page = console.page
    fetched: list[str] = []
    page.on(
        "request", lambda request: fetched.append(request.url) if "/forms" in request.url else None
    )
    item = page.locator("#triage-items li.anomaly")
    await expect(item.locator("form")).to_have_count(0)

    for _ in range(60):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.tagName") == "SUMMARY":
            break
    else:
        raise AssertionError("Tab never reached the 'Assign, shelve or note' disclosure")
    await page.keyboard.press("Enter")
    await expect(item.locator("form")).to_have_count(3)
    await page.keyboard.press("Tab")
    await expect(item.get_by_label("Assign to")).to_be_focused()
    await page.keyboard.type("operator")
    await page.keyboard.press("Enter")
    await expect(item.locator(".waiting")).to_contain_text("assigned to operator", timeout=1_000)

    # The live update kept the open forms: the note goes in where the assignee was typed.
    note = item.get_by_label("Note")
    await note.focus()
    await page.keyboard.type("Rebooting the gyro")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await expect(console.feed().first).to_contain_text("added a note on Chandra")
    summary = item.locator("summary")
    await summary.click()  # closed
    await summary.click()  # and open again: the forms it has, not fetched again
    await expect(item.get_by_label("Note")).to_be_visible()
    # A request after the toggles: any fetch they started was reported before its answer.
    assert await page.evaluate("fetch('/healthz').then(response => response.status)") == 200
    assert len(fetched) == 1, fetched
    anomaly = (await goofs.client.get(f"/api/v1/anomalies/{craft['anomaly']['id']}")).json()
    assert anomaly["assignee"] == "operator"
    assert [note["text"] for note in anomaly["notes"]] == ["Rebooting the gyro"]
    assert console.errors == []


async def test_an_assign_the_moment_the_forms_arrive_is_an_inline_post(
    goofs_sqlite: Running, browser: Browser
) -> None:
    """A submit as soon as the fetched forms are in the page (a quick Enter) must be htmx's,
    not the browser's own (a GET of the page with the form's fields in its address): htmx
    took the forms over only after its 20 ms settle, and the keyboard test failed so once."""
    craft = await _broken(goofs_sqlite, "Chandra", "1999-040B")
    console = await Console.open(await browser.new_context(), goofs_sqlite.url)
    page = console.page
    await page.evaluate(
        """() => new MutationObserver(() => {
            const form = document.querySelector("#triage-items form[hx-post$='/assign']");
            if (form && !window.assignedOnArrival) {
                window.assignedOnArrival = true;
                form.elements.assignee.value = "operator";
                form.requestSubmit();
            }
        }).observe(document.getElementById("triage-items"), {childList: true, subtree: true})"""
    )

    async with page.expect_response(
        lambda response: response.request.method == "POST" and response.url.endswith("/assign"),
        timeout=5_000,
    ) as assigned:
        await page.locator("#triage-items li.anomaly summary").click()
    assert (await assigned.value).ok
    assert "?" not in page.url
    anomaly = (await goofs_sqlite.client.get(f"/api/v1/anomalies/{craft['anomaly']['id']}")).json()
    assert anomaly["assignee"] == "operator"


async def test_shelving_inline_explains_a_refusal_beside_the_field(
    goofs_sqlite: Running, browser: Browser
) -> None:
    goofs = goofs_sqlite
    await _broken(goofs, "Voyager 1", "1977-084A")
    console = await Console.open(await browser.new_context(), goofs.url)
    item = console.page.locator("#triage-items li.anomaly")

    await item.locator("summary").click()
    await item.get_by_label("Shelve for (minutes").fill("20000")
    await item.get_by_label("Reason").fill("Known sulk")
    # The browser's own range check would stop the post first; the server's is what counts.
    await item.locator("form").nth(1).evaluate("form => form.noValidate = true")
    await item.get_by_role("button", name="Shelve").click()
    await expect(item.locator(".form-error").nth(1)).to_contain_text("less than or equal to 10080")

    await item.get_by_label("Shelve for (minutes").fill("30")
    await item.get_by_role("button", name="Shelve").click()
    await expect(item).to_contain_text("Shelved until", timeout=1_000)
    await expect(item).to_contain_text("Known sulk")


async def test_deep_links_lead_to_a_spacecraft_page_whose_timeline_grows_live(
    goofs_sqlite: Running, browser: Browser
) -> None:
    goofs = goofs_sqlite
    craft = await _broken(goofs, "Sentinel-2A", "2015-028A", description="Squinting")
    console = await Console.open(await browser.new_context(), goofs.url)
    page = console.page

    await console.row("Sentinel-2A").get_by_role("link", name="Sentinel-2A").click()
    await page.wait_for_url(f"**/spacecraft/{craft['id']}")
    await console.expect_live()
    await expect(page.locator("#triage-items li.anomaly")).to_contain_text("Squinting")
    await expect(console.feed()).to_have_count(2)

    anomaly_id = craft["anomaly"]["id"]
    note = "<b>hi</b>\r\nsecond line"
    await goofs.client.post(f"/api/v1/anomalies/{anomaly_id}/notes", json={"text": note})
    await expect(console.feed()).to_have_count(3, timeout=1_000)
    note_text = page.locator("#notes li .note-text")
    await expect(note_text).to_have_text("<b>hi</b> second line")
    assert await note_text.inner_text() == "<b>hi</b>\nsecond line"  # its lines, as text
    assert await page.locator("#notes b").count() == 0
    other = await create(goofs, "Somebody else", "2015-029A")
    await goofs.client.post(f"/api/v1/spacecraft/{other}/malfunction")
    await goofs.client.post(f"/api/v1/spacecraft/{craft['id']}/repair")
    await expect(console.feed()).to_have_count(4, timeout=1_000)
    await expect(console.feed().first).to_contain_text("fixed Sentinel-2A")
    await expect(page.locator("#triage-items li")).to_have_count(0)

    await page.goto(goofs.url)
    await page.locator("#feed").get_by_role("link", name="Sentinel-2A").first.click()
    await page.wait_for_url(f"**/spacecraft/{craft['id']}")
    assert console.errors == []


async def test_on_a_phone_the_board_triage_and_spacecraft_page_fit_the_screen(
    goofs_sqlite: Running, browser: Browser, screenshots: Path
) -> None:
    goofs = goofs_sqlite
    crafts = [
        await _broken(goofs, "James Webb Space Telescope", "2021-130A", severity="critical"),
        await _broken(goofs, "Mars Reconnaissance Orbiter", "2005-029A", severity="minor"),
    ]
    await create(goofs, "ISS (Zarya)", "1998-067A")
    await goofs.client.put(
        f"/api/v1/spacecraft/{crafts[1]['id']}/maintenance",
        json={"ends_at": "2999-01-01T00:00:00Z", "reason": "Dust off the lenses"},
    )
    await goofs.client.post(f"/api/v1/anomalies/{crafts[1]['anomaly']['id']}/acknowledge")
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    console = await Console.open(context, goofs.url)
    page = console.page
    await expect(page.locator("#triage-items li")).to_have_count(2)

    await _no_sideways_scroll(page)
    await _within_reach(page, "#fleet-rows button.fix")
    await _within_reach(page, "#triage-items button.acknowledge")
    await _within_reach(page, "#fleet-rows .badge")
    first = page.locator("#triage-items li").first
    await first.locator("summary").click()
    await expect(first.get_by_role("button", name="Add note")).to_be_visible()
    await _no_sideways_scroll(page)
    await _within_reach(page, "#triage-items li:first-child form button")
    await page.screenshot(path=screenshots / "triage-phone.png", full_page=True)

    await page.goto(f"{goofs.url}/spacecraft/{crafts[0]['id']}")
    await console.expect_live()
    await _no_sideways_scroll(page)
    await _within_reach(page, "#triage-items button.acknowledge")
    await page.screenshot(path=screenshots / "spacecraft-phone.png", full_page=True)
    await context.close()

    wide = await browser.new_context(viewport={"width": 1360, "height": 900})
    desk = await Console.open(wide, goofs.url)
    await desk.page.screenshot(path=screenshots / "triage-desktop.png", full_page=True)
    await desk.page.goto(f"{goofs.url}/spacecraft/{crafts[1]['id']}")
    await desk.expect_live()
    await desk.page.screenshot(path=screenshots / "spacecraft-desktop.png", full_page=True)
    assert console.errors == [] and desk.errors == []


async def test_the_triage_queue_and_a_spacecraft_page_pass_the_accessibility_audit(
    goofs_sqlite: Running, browser: Browser
) -> None:
    goofs = goofs_sqlite
    craft = await _broken(goofs, "Hubble", "1990-037B", severity="critical")
    shelved = await _broken(goofs, "Chandra", "1999-040B", severity="minor")
    await goofs.client.post(
        f"/api/v1/anomalies/{shelved['anomaly']['id']}/shelve", json={"minutes": 60, "reason": "x"}
    )
    await goofs.client.post(
        f"/api/v1/anomalies/{craft['anomaly']['id']}/notes", json={"text": "Hm"}
    )
    await goofs.client.put(
        f"/api/v1/spacecraft/{shelved['id']}/maintenance",
        json={"ends_at": "2999-01-01T00:00:00Z", "reason": "Lens cap"},
    )
    for viewport, suffix in ((None, "desktop"), (PHONE, "phone")):
        context = await browser.new_context(viewport=viewport or {"width": 1360, "height": 900})
        console = await Console.open(context, goofs.url)
        page = console.page
        await expect(page.locator("#triage-items li")).to_have_count(2)
        first = page.locator("#triage-items li").first
        await first.locator("summary").click()
        await expect(first.get_by_label("Note")).to_be_visible()  # audit the forms too
        await assert_accessible(page, f"triage-{suffix}")
        await page.goto(f"{goofs.url}/spacecraft/{craft['id']}")
        await console.expect_live()
        await assert_accessible(page, f"spacecraft-{suffix}")
        await context.close()
