"""A plan as a learner reads it: per change, only the lines and fields that change, the full value one click away.

`Plan._repr_html_` shows whole before and after values side by side; for a registry policy that buries the one
changed line in two screens of JSON. Panels show this view instead: the changed lines of each value's JSON (with
a line of context), the names of the changed fields of a setting, and the complete before/after in a
`<details>` element (keyboard-operable, no script).
"""

from __future__ import annotations

import difflib
import html
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ecrlab.plan import Change, Plan

SYMBOL = {"create": "+", "update": "~", "delete": "-"}


def pretty(value: Any) -> list[str]:
    """A value as the lines a reader compares: indented JSON with sorted keys; "(absent)" for no value."""
    if value is None:
        return ["(absent)"]
    if isinstance(value, str):
        try:  # a policy stored as JSON text compares by its lines, not as one long string
            value = json.loads(value)
        except ValueError:
            return value.splitlines() or [""]
    return json.dumps(value, indent=2, sort_keys=True, default=str).splitlines()


def changed_fields(before: Any, after: Any) -> list[str]:
    """The top-level fields of a setting whose values differ (empty unless both sides are objects)."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return []
    return sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))


def diff_lines(before: Any, after: Any) -> list[tuple[str, str]]:
    """(mark, line) pairs of what changes: "-" removed, "+" added, " " one line of context, "…" skipped."""
    old, new = pretty(before), pretty(after)
    shown: list[tuple[str, str]] = []
    for group in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_grouped_opcodes(1):
        if shown:
            shown.append(("…", ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                shown += [(" ", line) for line in old[i1:i2]]
                continue
            shown += [("-", line) for line in old[i1:i2]]
            shown += [("+", line) for line in new[j1:j2]]
    return shown


def _diff_html(change: Change) -> str:
    marks = {"-": "ecrlab-del", "+": "ecrlab-add", " ": "ecrlab-ctx", "…": "ecrlab-ctx"}
    body = "".join(  # each line is a block of its own, so no newline between them (it would show as a gap)
        f"<span class='{marks[mark]}'>{html.escape(mark + ' ' + line if mark != '…' else '…')}</span>"
        for mark, line in diff_lines(change.before, change.after)
    )
    fields = changed_fields(change.before, change.after)
    named = f"<p>Changed fields: {', '.join(f'<code>{html.escape(f)}</code>' for f in fields)}</p>" if fields else ""
    full = (
        "<details><summary>Full value before and after</summary>"
        f"<p>Before:</p><pre>{html.escape(chr(10).join(pretty(change.before)))}</pre>"
        f"<p>After:</p><pre>{html.escape(chr(10).join(pretty(change.after)))}</pre></details>"
    )
    return f"{named}<pre class='ecrlab-diff'>{body}</pre>{full}"


def plan_html(plan: Plan) -> str:
    """The plan as a table of changes, each with its diff and its full value behind "Full value"."""
    if plan.empty:
        return f"<p><b>No changes</b> for account {plan.account_id} in {plan.region}.</p>"
    rows = "".join(
        f"<tr><td>{SYMBOL[c.action]} {c.action}</td><td><code>{html.escape(c.setting.address)}</code></td>"
        f"<td>{_diff_html(c)}</td></tr>"
        for c in plan.changes
    )
    return (
        f"<p><b>Plan</b> for account {plan.account_id} in {plan.region}: {len(plan.changes)} change(s). "
        "Lines marked - go, lines marked + come; the rest is context.</p>"
        "<table><thead><tr><th>action</th><th>setting</th><th>what changes</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
