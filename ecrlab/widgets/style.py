"""The workshop look shared by every form: one stylesheet, one widget, shown inside each form.

Widget HTML is not styled by JupyterLab's rendered-HTML rules, so without this a plan table has no borders and a
long error is clipped to the width of its box. The rules only touch `ecrlab-*` classes, so they look the same in
JupyterLab and in Voilà and leave the rest of the notebook alone.
"""

from __future__ import annotations

import ipywidgets as W

CSS = """
.ecrlab-form { max-width: 72em; }
.ecrlab-panel { max-width: 100%; }
/* Labels above their fields, at their full length: a label is never cut, and a phone-width screen has room. */
.ecrlab-panel .widget-inline-hbox:not(.widget-checkbox) { flex-direction: column; align-items: flex-start;
  height: auto; }
.ecrlab-panel .widget-inline-hbox > .widget-label { width: auto !important; max-width: 100%; white-space: normal;
  overflow: visible; text-overflow: clip; text-align: left; line-height: 1.4; padding: 0; margin: 2px 0; }
.ecrlab-panel .widget-inline-hbox > input, .ecrlab-panel .widget-inline-hbox > select,
.ecrlab-panel .widget-inline-hbox > textarea { width: 36em; max-width: 100%; box-sizing: border-box; }
.ecrlab-panel .widget-text, .ecrlab-panel .widget-textarea, .ecrlab-panel .widget-dropdown,
.ecrlab-panel .widget-select-multiple { width: 36em; max-width: 100%; }
.ecrlab-panel .widget-hbox { flex-wrap: wrap; gap: 4px 8px; align-items: flex-end; }
.ecrlab-panel .widget-toggle-buttons .widget-toggle-button { width: auto; }
/* Text on every button at WCAG AA contrast (>= 4.5:1): ipywidgets' info, warning and primary colours are not. */
.ecrlab-panel .jupyter-button { width: auto; min-width: 7em; max-width: 100%; padding: 0 1em; height: auto;
  min-height: var(--jp-widgets-inline-height, 28px); white-space: normal; }
.ecrlab-panel .jupyter-button.mod-info { background-color: #006d77; color: #ffffff; }
.ecrlab-panel .jupyter-button.mod-warning { background-color: #9a4a00; color: #ffffff; }
.ecrlab-panel .jupyter-button.mod-primary { background-color: #1565c0; color: #ffffff; }
.ecrlab-panel .jupyter-button:not(.mod-info):not(.mod-warning):not(.mod-primary):not(.mod-active) {
  color: #1a1a1a; }
/* A focus ring that stands out (>= 3:1) on white and on every button colour. */
.ecrlab-panel :focus-visible, .ecrlab-panel .jupyter-button:focus, .ecrlab-panel input:focus,
.ecrlab-panel textarea:focus, .ecrlab-panel select:focus, .ecrlab-scroll:focus {
  outline: 3px solid #1a1a1a !important; outline-offset: 2px; box-shadow: 0 0 0 5px #ffffff; }
.ecrlab-form .ecrlab-error .widget-html-content,
.ecrlab-form .ecrlab-result .widget-html-content { white-space: normal; line-height: 1.4; }
.ecrlab-form .ecrlab-error { margin: 0; min-height: 0; }
.ecrlab-form .ecrlab-error .widget-html-content:empty { display: none; }
.ecrlab-form .ecrlab-result .widget-html-content { max-height: 28em; overflow: auto; }
.ecrlab-panel .widget-html-content { max-width: 100%; overflow-x: auto; }
.ecrlab-form table { border-collapse: collapse; font-size: 90%; margin: 4px 0; }
.ecrlab-form th, .ecrlab-form td { border: 1px solid var(--jp-border-color2, #ddd); padding: 2px 8px;
  text-align: left; vertical-align: top; }
.ecrlab-form td:nth-child(-n+2) { white-space: nowrap; }
.ecrlab-form thead th { position: sticky; top: 0; background: var(--jp-layout-color2, #eee); }
.ecrlab-form tbody tr:nth-child(even) { background: var(--jp-layout-color1, #fafafa); }
.ecrlab-form td:nth-child(n+3) code { white-space: pre-wrap; overflow-wrap: break-word; }
.ecrlab-form pre.ecrlab-diff { margin: 2px 0; white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.35;
  font-family: var(--jp-code-font-family, monospace); font-size: 90%; }
.ecrlab-diff .ecrlab-del { display: block; background: #ffebe9; color: #82071e; }
.ecrlab-diff .ecrlab-add { display: block; background: #dafbe1; color: #116329; }
.ecrlab-diff .ecrlab-ctx { display: block; color: #3b3b3b; }
.ecrlab-form details pre { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 20em; overflow: auto; }
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
