"""The webhooks page in a real browser: an admin adds an endpoint and pings it from the
keyboard alone, sees it delivered in the log, and the page passes axe under the strict CSP."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, expect
from sqlalchemy import select

from galactic_goofs.auth import service as auth
from galactic_goofs.auth.policy import Role
from galactic_goofs.notifications.models import Delivery, DeliveryStatus
from tests.browser.accessibility import assert_accessible
from tests.support import running_app, test_settings, wait_until
from tests.webhook_receiver import receiver

PASSWORD = "correct horse battery"


async def test_an_admin_adds_a_webhook_pings_it_and_reads_the_log_from_the_keyboard(
    sqlite_url: str, browser: Browser, screenshots: Path
) -> None:
    settings = test_settings(sqlite_url, webhook_allow_private=True, lease_ttl=1.0)
    async with running_app(settings) as goofs:
        await auth.add_operator(goofs.state.db, "ada", PASSWORD, role=Role.ADMIN)
        page = await (await browser.new_context()).new_page()
        errors: list[str] = []
        page.on(
            "console",
            lambda message: errors.append(message.text) if message.type == "error" else None,
        )
        await page.goto(f"{goofs.url}/signin?next=/admin/webhooks")
        await page.get_by_label("Operator").fill("ada")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_label("Password").press("Enter")
        await expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
        await expect(page.get_by_text("No endpoints yet")).to_be_visible()

        with receiver() as hook:
            await page.get_by_label("URL").focus()
            await page.keyboard.type(hook.url + "/hook")
            await page.get_by_label("Description").focus()
            await page.keyboard.type("On-call pager")
            await page.keyboard.press("Enter")
            secret = page.get_by_label("Secret", exact=True)
            await expect(secret).to_have_value(re.compile(r"^whsec_"))
            hook.secrets.append(await secret.input_value())

            await page.get_by_role("button", name=f"Send a test ping to {hook.url}/hook").focus()
            await page.keyboard.press("Enter")
            await expect(page.get_by_role("status")).to_contain_text("Test ping queued")
            await wait_until(lambda: len(hook.received) == 1, message="the ping")

            async def recorded() -> bool:
                # The receiver has it before the sender writes the attempt down.
                async with goofs.state.db.reading() as session:
                    status = await session.scalar(select(Delivery.status))
                return status == DeliveryStatus.DELIVERED

            await wait_until(recorded, message="the ping recorded as delivered")
            await page.goto(f"{goofs.url}/admin/webhooks")
            log = page.locator("table.deliveries")
            await expect(log.get_by_text("webhook.test")).to_be_visible()
            await expect(log.locator(".badge.delivered")).to_have_count(1)
            await expect(page.locator("table.endpoints .badge.healthy")).to_be_visible()
            await assert_accessible(page, "webhooks")
            await page.screenshot(path=screenshots / "admin-webhooks.png", full_page=True)

            await page.get_by_role("button", name=re.compile("^Redeliver webhook.test")).focus()
            await page.keyboard.press("Enter")
            await expect(page.get_by_role("status")).to_contain_text("queued again")
            await wait_until(lambda: len(hook.received) == 2, message="the redelivery")
        assert hook.ids()[0] == hook.ids()[1]
        assert not errors, errors
