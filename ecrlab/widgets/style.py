"""The workshop look shared by every form: one stylesheet, one widget, shown inside each form.

Widget HTML is not styled by JupyterLab's rendered-HTML rules, so without this a plan table has no borders and a
long error is clipped to the width of its box. The rules only touch `ecrlab-*` classes, so they look the same in
JupyterLab and in Voilà and leave the rest of the notebook alone.
"""

from __future__ import annotations

import ipywidgets as W

CSS = """
.ecrlab-form { max-width: 72em; }
.ecrlab-form .widget-text.ecrlab-field, .ecrlab-form .widget-textarea.ecrlab-field { width: 36em; max-width: 100%; }
.ecrlab-form .jupyter-button { width: auto; min-width: 7em; padding: 0 1em; }
.ecrlab-form .ecrlab-error .widget-html-content,
.ecrlab-form .ecrlab-result .widget-html-content { white-space: normal; line-height: 1.4; }
.ecrlab-form .ecrlab-error { margin: 0 0 0 14em; min-height: 0; }
.ecrlab-form .ecrlab-error .widget-html-content:empty { display: none; }
.ecrlab-form .ecrlab-result .widget-html-content { max-height: 28em; overflow: auto; }
.ecrlab-form table { border-collapse: collapse; font-size: 90%; margin: 4px 0; }
.ecrlab-form th, .ecrlab-form td { border: 1px solid var(--jp-border-color2, #ddd); padding: 2px 8px;
  text-align: left; vertical-align: top; }
.ecrlab-form td:nth-child(-n+2) { white-space: nowrap; }
.ecrlab-form thead th { position: sticky; top: 0; background: var(--jp-layout-color2, #eee); }
.ecrlab-form tbody tr:nth-child(even) { background: var(--jp-layout-color1, #fafafa); }
.ecrlab-form td:nth-child(n+3) code { white-space: pre-wrap; overflow-wrap: break-word; }
.ecrlab-busy { color: var(--jp-ui-font-color2, #555); font-style: italic; }
.ecrlab-busy::before { content: "\\23F3  "; }
"""

_sheet: W.HTML | None = None


def stylesheet() -> W.HTML:
    """The one stylesheet widget of this kernel; every form shows it, so styling never depends on cell order."""
    global _sheet
    if _sheet is None:
        _sheet = W.HTML(f"<style>{CSS}</style>", layout=W.Layout(display="none"))
    return _sheet


def busy(message: str) -> str:
    """HTML for a result box while a long call (plan reads the registry, apply writes and verifies) runs."""
    return f"<span class='ecrlab-busy'>{message}</span>"
