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
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
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


# Every export runs on this one thread with one exporter: building an exporter compiles its Jinja templates (~0.2 s
# of CPU), which one exporter per demo worker paid three times, and exports on several threads never ran at once
# anyway (the GIL). An exporter keeps per-conversion state, so it must not be shared between threads either.
_EXPORT_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecrlab-report")


@cache
def _exporter() -> ReportExporter:
    """The export thread's exporter, built on first use."""
    return ReportExporter()


def _export(executed: Path) -> str:
    import nbformat

    body, _ = _exporter().from_notebook_node(nbformat.read(str(executed), as_version=4))
    return body


def notebook_html(executed: Path) -> str:
    """The executed notebook at `executed` as one self-contained HTML page."""
    return _EXPORT_THREAD.submit(_export, executed).result()
