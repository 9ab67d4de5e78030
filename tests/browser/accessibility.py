"""An accessibility audit of the page a test is on, with axe-core from npm (package-lock.json).

axe is a test-only file read from node_modules, never served by the app. It goes in through the
browser's debugging protocol (`page.evaluate`), which the page's Content Security Policy does not
govern, so the audited page is exactly what operators get.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page

from tests.browser.conftest import ROOT, SCREENSHOTS

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")

RUN_AXE = """async () => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return results.violations.map((violation) => ({
    id: violation.id,
    impact: violation.impact,
    help: violation.help,
    nodes: violation.nodes.map((node) => ({
      target: node.target.join(" "),
      summary: node.failureSummary,
    })),
  }));
}"""


async def assert_accessible(page: Page, name: str) -> None:
    """Fail listing every serious or critical violation on the page as it is now.

    `name` says which page and state this is; the page's screenshot is saved under it.
    """
    assert AXE.exists(), f"{AXE} is missing: run `make assets` (npm ci)"
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.evaluate(f"{AXE.read_text()}\n;undefined")
    violations: list[dict[str, Any]] = await page.evaluate(RUN_AXE)
    await page.screenshot(path=screenshot(name), full_page=True)
    blocking = [violation for violation in violations if violation["impact"] in BLOCKING]
    assert not blocking, f"{name}: accessibility violations\n" + "\n".join(
        describe(violation) for violation in blocking
    )


def screenshot(name: str) -> Path:
    return SCREENSHOTS / f"a11y-{name}.png"


def describe(violation: dict[str, Any]) -> str:
    lines = [f"- {violation['impact']} {violation['id']}: {violation['help']}"]
    for node in violation["nodes"]:
        summary = " ".join(node["summary"].split())
        lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)
