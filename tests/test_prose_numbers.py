"""Every count the lessons' prose states comes from the data on screen (issue 23).

A *claim* is a number attached to a counting noun in a Markdown cell: "11 findings", "two settings", "ten CI builds"
(digits, or the words two to twelve, with at most two words between number and noun). A claim is *backed* when one
line of what the notebook shows counts the same noun with the same number ("22 basic findings", "images rescanned:
3"): its committed outputs (streams, plain text, Markdown and HTML of every cell — a sentence a code cell computes
with `display(Markdown(...))` is an output, so it is always backed), the saved widget state, or its code (a count
the lesson sets, like a rule's "keep the two newest releases"). nbval checks the committed outputs against a fresh
run, so a backed claim is what the lesson computes.
Every backticked repository name the prose mentions (`shop/api`) must likewise be one the notebook's code or
outputs name (a path of the source tree, like `docs/fidelity.md`, or a name behind a registry host is not one).

What is not a claim, and why (kept short on purpose):
- "one": it is the article "a" as often as a count ("one rule for the whole registry").
- a limit cited from AWS's documentation or botocore's model ("up to 25 rules", "at most two rules", "more than 50
  feeds", "the quotas — 25 rules"): tests/test_lesson_claims.py checks those against their sources.
- a rate ("3 pulls per 6 hours", "one row per setting") and a notebook's number ("notebook 02 covers …").
- text in backticks (versions, tags, commands) and in links.
- an exercise (cells tagged `learner`): it states the task the learner's own cell will solve.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecrlab.package_data import notebooks

WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
# Counting nouns by stem: a claim and an output line agree when both use the same stem.
NOUN = (
    r"(?P<noun>finding|repositor|rule|image|statement|setting|change|template|destination|pull|build|blob|layer|"
    r"package|cve|principal|role|filter|release|advisor|signature|account|region|backfill|row|vulnerabilit)"
)
NUMBER = r"(?P<number>\d+|" + "|".join(WORDS) + r")"
CLAIM = re.compile(rf"\b{NUMBER}\s+(?:[\w*-]+\s+){{0,2}}?{NOUN}\w*", re.IGNORECASE)
# The ~25 characters before a number that make it a cited limit or a reference, not a count on screen.
NOT_A_COUNT_BEFORE = re.compile(r"(up to|at most|at least|more than|fewer than|quotas? —|notebooks?)\s*$", re.I)
REPOSITORY_NAME = re.compile(r"`([a-z0-9][a-z0-9._-]*(?:/[a-z0-9][a-z0-9._-]*)+)`")
NOTEBOOKS = sorted(notebooks().glob("[0-9][0-9]_*.ipynb"))
SOURCE_TREES = (notebooks().parent.parent, notebooks().parent)  # the checkout and the package


def _prose(cell: dict) -> str:
    """A Markdown cell's text without code spans and link targets, which name things rather than count them."""
    text = "".join(cell["source"])
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"`[^`]*`", "X", text)
    return re.sub(r"\]\([^)]*\)", "]", text)


def claims(text: str) -> Iterator[tuple[int, str, str]]:
    """(number, noun stem, the words) for each count `text` states."""
    for match in CLAIM.finditer(text):
        if NOT_A_COUNT_BEFORE.search(text[max(0, match.start() - 25) : match.start()]):
            continue
        if re.match(r"\s+per\b", text[match.end() :]):
            continue
        number = match["number"].lower()
        yield (WORDS[number] if number in WORDS else int(number)), match["noun"].lower(), " ".join(match[0].split())


def _output_texts(cell: dict) -> Iterator[str]:
    for output in cell.get("outputs", []):
        yield "".join(output.get("text", ""))
        for kind, value in output.get("data", {}).items():
            if kind.startswith("text/"):
                text = "".join(value) if isinstance(value, list) else str(value)
                yield html.unescape(re.sub(r"<[^>]+>", " ", text)) if kind == "text/html" else text


def shown(notebook: dict) -> list[str]:
    """The lines a reader sees besides the prose: outputs, saved widget state and code."""
    texts = [t for cell in notebook["cells"] for t in _output_texts(cell)]
    texts += ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    widgets = notebook.get("metadata", {}).get("widgets", {})
    for state in widgets.get("application/vnd.jupyter.widget-state+json", {}).get("state", {}).values():
        value = state.get("state", {}).get("value")
        if isinstance(value, str):
            texts.append(html.unescape(re.sub(r"<[^>]+>", " ", value)))
    return [line for text in texts for line in text.splitlines()]


def _backs(line: str, number: int, noun: str) -> bool:
    """Whether `line` counts `number` of `noun`: the number just before the noun ("22 basic findings", "caches 3
    image(s)", "1/100 destinations") or just after it ("images rescanned: 3")."""
    spelled = "|".join([str(number)] + [word for word, value in WORDS.items() if value == number])
    before = rf"(?<![\w.-])(?:{spelled})\s+(?:[\w()/*`'-]+\s+){{0,3}}?{noun}"
    after = rf"\b{noun}\w*(?:\s+\w+)?\s*[:=]\s*(?:{spelled})(?![\w.])"
    return re.search(before, line, re.I) is not None or re.search(after, line, re.I) is not None


def unbacked(notebook: dict) -> list[str]:
    """The counts and repository names the prose states that nothing on screen shows."""
    lines = shown(notebook)
    everything = "\n".join(lines)
    problems = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "markdown" or "learner" in cell.get("metadata", {}).get("tags", []):
            continue
        for number, noun, words in claims(_prose(cell)):
            if not any(_backs(line, number, noun) for line in lines):
                problems.append(f"cell {index}: {words!r} — no output or code line shows {number} {noun}…")
        for name in REPOSITORY_NAME.findall("".join(cell["source"])):
            if "." in name.split("/")[0] or any((tree / name).exists() for tree in SOURCE_TREES):
                continue
            if name not in everything:
                problems.append(f"cell {index}: repository `{name}` — no output or code names it")
    return problems


def _notebook(prose: str, *outputs: str) -> dict:
    code = {"cell_type": "code", "source": [], "outputs": [{"output_type": "stream", "text": t} for t in outputs]}
    return {"cells": [code, {"cell_type": "markdown", "source": [prose]}], "metadata": {}}


def test_the_checker_flags_the_issue_example():
    """Issue 23: the text said "11 findings instead of 22" while the cells showed 22 findings and never 11."""
    prose = "The same image has 11 findings instead of 22 — one per CVE rather than one per package."
    problems = unbacked(_notebook(prose, "22 basic findings, the same as node:18-alpine\n"))
    assert problems == ["cell 1: '11 findings' — no output or code line shows 11 finding…"]
    assert unbacked(_notebook(prose, "11 enhanced findings (one per CVE); 22 basic findings\n")) == []


def test_the_checker_reads_number_words_and_leaves_limits_and_rates_alone():
    assert unbacked(_notebook("`prod/checkout` drifted in two settings.", "prod/checkout: 2 settings drift")) == []
    assert unbacked(_notebook("It drifted in three settings.", "2 settings drift")) == [
        "cell 1: 'three settings' — no output or code line shows 3 setting…"
    ]
    # The number must count the noun: a table's row index or a region's digit on the same line is not a count.
    assert unbacked(_notebook("Two roles act.", "2  arn:aws:iam::123456789012:role/devops-role  Allowed")) == [
        "cell 1: 'Two roles' — no output or code line shows 2 role…"
    ]
    assert unbacked(_notebook("Ten CI builds.", "what ECR asked for, over the ten builds through ECR:")) == []
    limits = "Up to 25 rules, at most two rules, the quotas — 25 rules, 3 pulls per 6 hours, notebook 02 covers pull."
    assert list(claims(limits)) == []
    assert unbacked(_notebook("Push to `shop/web`.", "pushed shop/api")) == [
        "cell 1: repository `shop/web` — no output or code names it"
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_count_in_the_prose_is_on_screen(path: Path):
    assert unbacked(json.loads(path.read_text())) == []
