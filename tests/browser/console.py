"""A console tab as a test drives it, and what the tests set up through the API."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Dialog, Locator, Page, expect

from tests.support import OPERATOR, OPERATOR_PASSWORD, Running


class Console:
    """One browser tab on the console, collecting what went wrong in it."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on(
            "console",
            lambda message: self.errors.append(message.text) if message.type == "error" else None,
        )
        page.on("dialog", self._dialog)

    async def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        await dialog.accept()

    @classmethod
    async def open(cls, context: BrowserContext, url: str) -> Console:
        console = cls(await context.new_page())
        await console.sign_in(url)
        await console.page.goto(url)
        await console.expect_live()
        return console

    async def sign_in(self, url: str) -> None:
        """As the test app's operator, once per browser context (the cookie is shared)."""
        parts = urlsplit(url)
        await self.page.goto(f"{parts.scheme}://{parts.netloc}/signin")
        if await self.page.get_by_role("button", name="Sign out").count():
            return
        await self.page.get_by_label("Operator").fill(OPERATOR)
        await self.page.get_by_label("Password").fill(OPERATOR_PASSWORD)
        await self.page.get_by_role("button", name="Sign in").click()
        await expect(self.page.locator("body")).to_have_attribute("data-role", "operator")

    async def expect_live(self, timeout: float = 5_000) -> None:
        await expect(self.page.locator("#connection")).to_have_attribute(
            "data-state", "live", timeout=timeout
        )

    def row(self, name: str) -> Locator:
        return self.page.locator("#fleet-rows tr").filter(
            has=self.page.get_by_role("rowheader", name=name, exact=True)
        )

    def feed(self) -> Locator:
        return self.page.locator("#feed li")

    async def register(self, name: str, cospar_id: str) -> None:
        form = self.page.locator("#create-form")
        await form.get_by_label("Name").fill(name)
        await form.get_by_label("COSPAR ID").fill(cospar_id)
        await form.get_by_role("button", name="Register").click()


async def create(goofs: Running, name: str, cospar_id: str) -> str:
    response = await goofs.client.post(
        "/api/v1/spacecraft", json={"name": name, "cospar_id": cospar_id}
    )
    assert response.status_code == 201, response.text
    craft_id: str = response.json()["id"]
    return craft_id
