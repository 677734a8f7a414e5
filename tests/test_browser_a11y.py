"""Every `ecrlab app` page checked for WCAG 2.1 AA at desktop (1366 px) and phone (390 px) widths.

axe-core (bundled, no network) runs with all content rendered; Chromium's accessibility tree must give every
panel control a non-empty name; no label or button text in a panel is cut; and a panel needs no sideways scroll.
After a bad value and Plan, the field must be marked invalid and described by its error (what a screen reader
reads), the result box must be a live region, and after Apply keyboard focus must stay on a control of the form.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import a11y, harness
from tests.browser.forms import FORMS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTHS = {"desktop": 1366, "phone": 390}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with harness.chromium() as chromium:
        yield chromium


def all_apps() -> list[Path]:
    """Every notebook `ecrlab app` serves: the feature notebooks, the start page and the baseline (no panels)."""
    return sorted((harness.ROOT / "notebooks").glob("0[0-9]_*.ipynb"))


def _check_page(page, name: str, panels: bool) -> None:
    a11y.show_everything(page)
    harness.screenshot(page, name)
    names = a11y.accessible_names(page)
    assert bool(names) == panels, f"panel controls found: {len(names)}, expected some: {panels}"
    unnamed = [control for control in names if not control["ignored"] and not control["name"]]
    assert not unnamed, f"controls without an accessible name: {unnamed}"
    assert not a11y.cut_labels(page), f"cut labels: {a11y.cut_labels(page)}"
    violations = a11y.axe_violations(page)
    assert not violations, "axe-core WCAG 2.1 AA violations:\n" + "\n".join(violations)


@pytest.mark.parametrize("notebook", all_apps(), ids=lambda path: path.stem)
def test_app_is_accessible(browser, notebook: Path, tmp_path: Path) -> None:
    panels = notebook.stem in FORMS
    with harness.voila_app(harness.feature_of(notebook), tmp_path) as app:
        # One fresh page per width (each a fresh kernel): resizing one long page crashed Chromium's renderer.
        for label, width in WIDTHS.items():
            session = harness.offline_page(browser, height=900, width=width)
            page = session.page
            try:
                if panels:
                    harness.wait_for_voila(page, app)
                else:  # no widgets to wait for: the page is whole once Voilà has sent the last executed cell
                    page.goto(app.href(), timeout=harness.RUN_SECONDS * 1000, wait_until="load")
                    page.wait_for_selector("#rendered_cells", state="visible", timeout=harness.RUN_SECONDS * 1000)
                assert not harness.voila_errors(page), harness.voila_errors(page)
                _check_page(page, f"a11y-{notebook.stem}-{label}", panels)
                if label == "phone":
                    panels_wider = page.evaluate(
                        "Math.max(0, ...[...document.querySelectorAll('.ecrlab-panel')]"
                        ".map(p => p.getBoundingClientRect().right - window.innerWidth))"
                    )
                    assert panels_wider <= 1, f"a panel runs {panels_wider}px off a 390px screen"
                    if panels:
                        _announces_errors_and_keeps_focus(page, notebook.stem)
            finally:
                page.context.close()


def _announces_errors_and_keeps_focus(page, stem: str) -> None:
    from playwright.sync_api import expect

    case = FORMS[stem]
    field = page.locator(f".ecrlab-field-{case.field}").first
    form = page.locator(".ecrlab-form", has=field).last
    control = field.locator("input, textarea, select").first
    result = form.locator(".ecrlab-result")
    expect(result).to_have_attribute("aria-live", "polite")
    for other, value in case.first:
        harness.set_value(form.locator(f".ecrlab-field-{other}"), value)
    harness.set_value(field, case.bad)
    form.locator(".ecrlab-plan").click()
    expect(control).to_have_attribute("aria-invalid", "true", timeout=harness.CALL_SECONDS * 1000)
    # aria-describedby and the error's words come in widget updates just after aria-invalid: wait until the field
    # names an element that holds words, read in one go in the page.
    described = page.wait_for_function(
        """(control) => {
            const id = control.getAttribute("aria-describedby");
            const error = id && document.getElementById(id);
            return error && error.textContent.trim() ? error.textContent : null;
        }""",
        arg=control.element_handle(),
        timeout=harness.CALL_SECONDS * 1000,
    )
    assert described.json_value().strip(), "the invalid field is not described by its error"
    harness.set_value(field, case.good)
    form.locator(".ecrlab-plan").click()
    expect(form.locator(".ecrlab-apply")).to_be_enabled(timeout=harness.CALL_SECONDS * 1000)
    expect(control).not_to_have_attribute("aria-invalid", "true")
    form.locator(".ecrlab-apply").click()
    expect(result).to_contain_text(re.compile(r"Applied \d+ change"), timeout=harness.CALL_SECONDS * 1000)
    focused = page.evaluate("document.activeElement.closest('.ecrlab-form') !== null")
    assert focused, f"after Apply focus fell to {page.evaluate('document.activeElement.tagName')}"
