"""A run's `notebook.html`: the executed notebook as the page nbconvert's HTMLExporter makes, for less CPU.

`ecrlab demo` exports every notebook it runs in the parent process, next to three kernels on two cores, and two
passes of the stock export were half its CPU while adding nothing to our reports: bleach over the code cells'
highlighted source (Pygments escapes the source itself) and a BeautifulSoup parse and re-serialisation of the whole
page, only to add `alt` to images and `tabindex="0"` to input wrappers and outputs. The `ecrlab_report` template
(shipped under `ecrlab/jupyter/nbconvert/templates`) extends the lab template: it drops the first pass and adds the
second's attributes to each cell's own markup. Outputs go through the lab template's blocks unchanged, so they are
sanitised exactly as HTMLExporter's `sanitize_html` says.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup
from nbconvert import HTMLExporter
from nbconvert.exporters.templateexporter import TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbformat import NotebookNode
from traitlets import default

from ecrlab.package_data import nbconvert_templates

# What HTMLExporter writes into an image that has no alternative text.
NO_DESCRIPTION = "No description has been provided for this image"
_IMG = re.compile(r"<img\b", re.IGNORECASE)


def focusable(html: str, wrapper: str) -> str:
    """`html` with its first `<div>` of class `wrapper` focusable: the cell's own wrapper, which comes before any
    content of the notebook's."""
    token = re.escape(wrapper)
    return re.sub(rf'<div\b(?=[^>]*\bclass="(?:[^"]*\s)?{token}[\s"])', '<div tabindex="0"', html, count=1)


def describe_images(html: str) -> str:
    """`html` with every `<img>` that has no `alt` given HTMLExporter's; parsed only when it holds an image."""
    if not _IMG.search(html):
        return html
    soup = BeautifulSoup(html, "html.parser")
    for image in soup.select("img:not([alt])"):
        image.attrs["alt"] = NO_DESCRIPTION
    return str(soup)


class ReportExporter(HTMLExporter):
    """HTMLExporter with the `ecrlab_report` template, without its BeautifulSoup pass over the page, validating
    the notebook once."""

    @default("template_name")
    def _template_name_default(self) -> str:
        return "ecrlab_report"

    @default("extra_template_basedirs")
    def _default_extra_template_basedirs(self) -> list[str]:
        # Only ours: the stock default adds the working directory, where a folder named `lab` would replace nbconvert's.
        return [str(nbconvert_templates())]

    @default("optimistic_validation")
    def _optimistic_validation_default(self) -> bool:
        # Validate the notebook once after the preprocessors, not after each of the twelve (most do nothing here).
        return True

    def default_filters(self) -> Iterator[tuple[str, Any]]:
        yield from super().default_filters()
        yield ("focusable", focusable)
        yield ("describe_images", describe_images)

    def from_notebook_node(  # type: ignore[override]  # HTMLExporter's own signature, which it overrides the same way
        self, nb: NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        # HTMLExporter.from_notebook_node (nbconvert 7) up to its template render: the same filters for this notebook.
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        self.register_filter(
            "highlight_code", self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
        )
        resources = self._init_resources(resources)
        self.register_filter(
            "filter_data_type",
            WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources),
        )
        return TemplateExporter.from_notebook_node(self, nb, resources, **kw)


_EXPORTERS = threading.local()


def _exporter() -> ReportExporter:
    """One exporter per thread: building one compiles its Jinja templates again (~0.2 s each run), and an exporter
    keeps per-conversion state, so threads exporting at once (the demo's workers) each have their own instead of
    taking turns behind a lock."""
    exporter = getattr(_EXPORTERS, "html", None)
    if exporter is None:
        exporter = _EXPORTERS.html = ReportExporter()
    return exporter


def notebook_html(executed: Path) -> str:
    """The executed notebook at `executed` as one self-contained HTML page."""
    import nbformat

    body, _ = _exporter().from_notebook_node(nbformat.read(str(executed), as_version=4))
    return body
