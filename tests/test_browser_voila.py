"""Each feature notebook as `ecrlab app FEATURE` (Voilà), in a real browser, with no network.

The facilitator's demo screen: no code on the page, no error outputs, diagrams drawn by the bundled Mermaid,
and the same form behaviour as in JupyterLab. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import harness
from tests.browser.forms import FORMS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with harness.chromium() as chromium:
        yield chromium


@pytest.mark.parametrize("notebook", harness.feature_notebooks(), ids=lambda path: path.stem)
def test_notebook_as_voila_app(browser, notebook: Path, tmp_path: Path) -> None:
    name = f"voila-{notebook.stem}"
    with harness.voila_app(harness.feature_of(notebook), tmp_path) as app:
        session = harness.offline_page(browser, height=1800)
        page = session.page
        try:
            harness.wait_for_voila(page, app)
            harness.screenshot(page, f"{name}-1-app")
            assert not harness.voila_errors(page), harness.voila_errors(page)
            assert page.locator(".jp-InputArea-editor, .jp-CodeMirrorEditor").count() == 0, "code is showing"
            harness.diagrams(page, harness.expected_diagrams(notebook, presenter=True), name)
            assert notebook.stem in FORMS, f"add a row for {notebook.stem} to tests/browser/forms.py"
            harness.exercise_form(page, FORMS[notebook.stem], name)
            assert not session.blocked, f"the page tried to reach the network: {session.blocked}"
            assert not session.errors, f"JavaScript errors: {session.errors}"
        finally:
            page.context.close()


def test_mermaid_draws_without_network_in_app_mode(browser, tmp_path: Path) -> None:
    notebook = harness.ROOT / "tests" / "browser" / "diagrams.ipynb"
    with harness.voila_notebook(notebook, tmp_path) as app:
        session = harness.offline_page(browser)
        try:
            session.page.goto(app.href(), timeout=harness.RUN_SECONDS * 1000)
            harness.diagrams(session.page, harness.expected_diagrams(notebook), "voila-mermaid")
            harness.screenshot(session.page, "voila-mermaid-page")
            assert not session.blocked, f"the page tried to reach the network: {session.blocked}"
        finally:
            session.page.context.close()


def test_presenter_view_leaves_out_exercises_and_runbooks(browser, tmp_path: Path) -> None:
    """04's runbook cell removes the DR rule and draws a second diagram: the presenter must not run or show it."""
    notebook = harness.ROOT / "notebooks" / "04_replication.ipynb"
    seen = {}
    for everything in (False, True):
        with harness.voila_app(harness.feature_of(notebook), tmp_path / str(everything), everything) as app:
            session = harness.offline_page(browser, height=1800)
            try:
                harness.wait_for_voila(session.page, app)
                assert not harness.voila_errors(session.page), harness.voila_errors(session.page)
                seen[everything] = session.page.locator("#rendered_cells").inner_text()
            finally:
                session.page.context.close()
    presenter, full = seen[False], seen[True]
    for learner_or_runbook in ("Exercise", "Run it as a runbook", "Not yet"):
        assert learner_or_runbook not in presenter, f"the presenter view shows {learner_or_runbook!r}"
        assert learner_or_runbook in full, f"--all does not show {learner_or_runbook!r}"
    assert "Try it: the rule builder" in presenter  # the panels stay
