"""Accessibility checks on a page: axe-core's WCAG 2.1 A/AA rules and Chromium's own accessibility tree.

axe-core comes bundled in the `axe-playwright-python` package (no network); the accessible names are the ones
Chromium computes (the Chrome DevTools Protocol's Accessibility domain), which is what a screen reader receives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
CONTROLS = ":is(.ecrlab-form, .ecrlab-panel) :is(input, textarea, select, button)"


def show_everything(page: Page) -> None:
    """Scroll through the page top to bottom so every output and widget has rendered and been laid out."""
    height = page.evaluate("document.documentElement.scrollHeight")
    for top in range(0, height + 1, 600):
        page.evaluate(f"window.scrollTo(0, {top})")
        page.wait_for_timeout(50)
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(300)  # the page's accessibility script runs on the next animation frame


def axe_violations(page: Page) -> list[str]:
    """Every WCAG 2.1 A/AA violation axe-core finds, one line each: rule, impact, offending elements."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA}, "resultTypes": ["violations"]})
    lines = []
    for violation in results.response["violations"]:
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]][:5]
        lines.append(f"{violation['id']} ({violation['impact']}, {len(violation['nodes'])}x): {targets}")
    return lines


def accessible_names(page: Page) -> list[dict[str, Any]]:
    """Role and accessible name, as Chromium computes them, of every enabled-or-not control inside a panel."""
    cdp = page.context.new_cdp_session(page)
    try:
        listing = cdp.send("Runtime.evaluate", {"expression": f"Array.from(document.querySelectorAll({CONTROLS!r}))"})[
            "result"
        ]
        properties = cdp.send("Runtime.getProperties", {"objectId": listing["objectId"], "ownProperties": True})
        found = []
        for item in properties["result"]:
            if not item["name"].isdigit():
                continue
            handle = item["value"]["objectId"]
            described = cdp.send(
                "Runtime.callFunctionOn",
                {
                    "objectId": handle,
                    "functionDeclaration": "function() { return (this.className || '') + ' ' + this.tagName; }",
                    "returnByValue": True,
                },
            )["result"]["value"]
            tree = cdp.send("Accessibility.getPartialAXTree", {"objectId": handle, "fetchRelatives": False})
            node = next((n for n in tree["nodes"] if not n.get("ignored")), tree["nodes"][0])
            found.append(
                {
                    "element": described.strip(),
                    "role": node.get("role", {}).get("value", ""),
                    "name": str(node.get("name", {}).get("value", "")).strip(),
                    "ignored": bool(node.get("ignored")),
                }
            )
        return found
    finally:
        cdp.detach()


def cut_labels(page: Page) -> list[str]:
    """Labels and button texts inside panels whose text is wider or taller than their box (shown cut or clipped)."""
    return page.evaluate(
        """() => [...document.querySelectorAll(
            ':is(.ecrlab-form, .ecrlab-panel) :is(.widget-label, .widget-label-basic, button)')]
          .filter(e => e.offsetParent !== null && e.textContent.trim()
                  && (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1))
          .map(e => `${e.tagName} "${e.textContent.trim()}" ${e.clientWidth}x${e.clientHeight}`
                    + ` < ${e.scrollWidth}x${e.scrollHeight}`)"""
    )


def overflowing_page(page: Page) -> int:
    """How far, in CSS pixels, the page is wider than the window (a layout that holds scrolls nothing sideways)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))
