"""A run's notebook.html shows what nbconvert's stock HTMLExporter shows, highlighted, sanitised and accessible the
same way: the reference is nbconvert itself (and Pygments' token classes), not our template."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from pygments.token import STANDARD_TYPES, Comment, Name

from ecrlab.run_report import ReportExporter, notebook_html

PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
SCRIPTED = '<p id="mark">before</p><script>document.title = "ran"</script><img src="chart.png"><b>after</b>'
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def notebook() -> nbformat.NotebookNode:
    nb = new_notebook(metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}})
    nb.cells = [
        new_markdown_cell("# Report\n\n![a chart](chart.png) and <img src='raw.png'>", id="title"),
        new_code_cell(
            "total = 1  # one",
            id="sum",
            execution_count=1,
            outputs=[
                new_output("stream", name="stdout", text="printed\n"),
                new_output("display_data", data={"text/html": SCRIPTED, "text/plain": "html"}),
                new_output("display_data", data={"image/png": PIXEL, "text/plain": "<Figure>"}),
                new_output("execute_result", data={"text/plain": "1"}, execution_count=1),
                new_output("error", ename="ValueError", evalue="no", traceback=["ValueError: no"]),
            ],
        ),
    ]
    return nb


def page(html: str) -> BeautifulSoup:
    return BeautifulSoup(UUID.sub("UUID", html), "html.parser")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> BeautifulSoup:
    path = tmp_path_factory.mktemp("report") / "notebook.ipynb"
    nbformat.write(notebook(), str(path))
    return page(notebook_html(Path(path)))


def test_code_is_highlighted_by_pygments(report):
    code = report.select_one("div.jp-CodeCell div.highlight")
    assert code is not None and code.get_text() == "total = 1  # one\n"
    spans = {(span["class"][0], span.get_text()) for span in code.select("span[class]")}
    assert {(STANDARD_TYPES[Name], "total"), (STANDARD_TYPES[Comment.Single], "# one")} <= spans


def test_every_image_has_alt_text_and_every_input_and_output_is_focusable(report):
    images = report.select("img")
    assert len(images) == 4  # the Markdown one and its raw one, the HTML output's, the PNG output
    assert all(image.has_attr("alt") for image in images)
    inputs = report.select("div.jp-Cell-inputWrapper")
    outputs = report.select("div.jp-OutputArea-output")
    assert (len(inputs), len(outputs)) == (2, 5)
    assert all(div.get("tabindex") == "0" for div in inputs + outputs)


@pytest.mark.parametrize("sanitize", [False, True])
def test_an_html_output_with_a_script_is_handled_as_the_stock_exporter_handles_it(sanitize):
    ours, _ = ReportExporter(sanitize_html=sanitize).from_notebook_node(notebook())
    stock, _ = HTMLExporter(sanitize_html=sanitize).from_notebook_node(notebook())
    found = [page(html).select_one('div[data-mime-type="text/html"]') for html in (ours, stock)]
    assert found[0] is not None and found[0] == found[1]
    assert (found[0].find("script") is None) == sanitize  # the stock setting decides; nothing of ours does


def test_the_page_is_the_stock_exporters_once_both_are_parsed(report):
    # Parsed and serialised alike, both pages are one document: same elements, attributes, text and CSS.
    stock, _ = HTMLExporter().from_notebook_node(notebook())
    assert str(report) == str(page(stock))
