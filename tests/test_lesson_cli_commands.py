"""Every `aws ecr <command>` a lesson or ecrlab prints exists in the AWS CLI the kit installs (`aws ecr help`).

A lesson that needs an operation this CLI lacks says so and shows the boto3 call instead (notebook 04's backfill)."""

from __future__ import annotations

import json
import re
import subprocess

from ecrlab.package_data import notebooks
from tests.conftest import BIN, ROOT

COMMAND = re.compile(r"aws ecr ([a-z][a-z-]+)")


def _cli_commands() -> set[str]:
    shown = subprocess.run([str(BIN / "aws"), "ecr", "help"], capture_output=True, text=True, timeout=120,
                           env={"PAGER": "cat", "MANPAGER": "cat", "PATH": "/usr/bin:/bin"})  # fmt: skip
    text = re.sub(r".\x08", "", shown.stdout)  # man-page bold
    return set(re.findall(r"^\s+o ([a-z][a-z-]+)\s*$", text, re.MULTILINE))


def _printed() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    sources = [(p.name, json.loads(p.read_text())) for p in sorted(notebooks().glob("*.ipynb"))]
    for name, notebook in sources:
        for cell in notebook["cells"]:
            for command in COMMAND.findall("".join(cell["source"])):
                found.setdefault(command, set()).add(name)
    for path in sorted((ROOT / "ecrlab").rglob("*.py")):
        for command in COMMAND.findall(path.read_text()):
            found.setdefault(command, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_printed_aws_ecr_command_exists_in_the_installed_cli():
    available = _cli_commands()
    assert {"describe-image-scan-findings", "put-account-setting", "wait"} <= available  # the listing was read
    printed = _printed()
    assert printed, "no aws ecr command found in the lessons"
    missing = {command: sorted(where) for command, where in printed.items() if command not in available}
    assert missing == {}
