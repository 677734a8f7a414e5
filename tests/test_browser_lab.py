"""Each feature notebook in JupyterLab, in a real browser: Run All, diagrams draw, the main form responds.

Headless execution proves the code runs; this proves what an attendee sees: widgets render and answer clicks,
errors appear at the field, Mermaid fences become SVG. Screenshots go to test-artifacts/screenshots/.
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


@pytest.fixture(scope="module")
def lab(browser: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Server]:
    with harness.jupyterlab(tmp_path_factory.mktemp("jupyterlab")) as server:
        yield server


@pytest.mark.parametrize("notebook", harness.feature_notebooks(), ids=lambda path: path.stem)
def test_notebook_in_jupyterlab(browser, lab: harness.Server, notebook: Path) -> None:
    session = harness.offline_page(browser, height=1800)
    page, name = session.page, f"lab-{notebook.stem}"
    harness.open_in_lab(page, lab, notebook)
    try:
        errors = harness.run_all_in_lab(page)
        harness.screenshot(page, f"{name}-1-run-all")
        assert not errors, f"Run All raised: {errors}"
        harness.diagrams(page, harness.expected_diagrams(notebook), name)
        assert notebook.stem in FORMS, f"add a row for {notebook.stem} to tests/browser/forms.py"
        harness.exercise_form(page, FORMS[notebook.stem], name)
        assert not session.blocked, f"the page tried to reach the network: {session.blocked}"
        assert not session.errors, f"JavaScript errors: {session.errors}"
    finally:
        harness.shut_down_kernel(page)
        page.context.close()


def test_restart_and_run_all_then_run_all_again_shows_no_error(browser, lab: harness.Server) -> None:
    # A learner's second Run All in the same kernel: the lesson starts again from its own clean state.
    session = harness.offline_page(browser)
    harness.open_in_lab(session.page, lab, harness.ROOT / "notebooks" / "00_start_here.ipynb")
    try:
        assert harness.restart_and_run_all_in_lab(session.page) == []
        assert harness.run_all_in_lab(session.page) == []
        assert harness.shown_errors(session.page) == []
        harness.screenshot(session.page, "lab-00_start_here-run-all-twice")
    finally:
        harness.shut_down_kernel(session.page)
        session.page.context.close()


def test_mermaid_fences_render_as_svg_in_jupyterlab(browser, lab: harness.Server) -> None:
    notebook = harness.ROOT / "tests" / "browser" / "diagrams.ipynb"
    session = harness.offline_page(browser)
    harness.open_in_lab(session.page, lab, notebook)
    try:
        assert harness.run_all_in_lab(session.page) == []
        harness.diagrams(session.page, harness.expected_diagrams(notebook), "lab-mermaid")
        assert not session.blocked, f"the page tried to reach the network: {session.blocked}"
    finally:
        harness.shut_down_kernel(session.page)
        session.page.context.close()
