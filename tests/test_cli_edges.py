"""The command's edges: scan-gate's exit 2 when it cannot decide, case-insensitive thresholds, and output piped into
a reader that stops early."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

import ecrlab
from ecrlab import cli, images, sample_images
from tests.conftest import BIN


def gate(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ecrlab"), "scan-gate", *args, "--endpoint-url", url],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def pushed(server: str) -> str:
    """`node:18-alpine` pushed where scan on push is off (so it has no scan), and `scanned:18-alpine` scanned."""
    registry = ecrlab.connect(endpoint_url=server)
    ecr = registry.client()
    for name in ("node", "scanned"):
        ecr.create_repository(repositoryName=name, imageScanningConfiguration={"scanOnPush": name == "scanned"})
        images.push(registry, sample_images() / "alpine-node", name)
    return server


@pytest.mark.parametrize(
    ("image", "words"),
    [
        ("nope:latest", "RepositoryNotFoundException"),
        ("node:nope", "ImageNotFoundException"),
        ("node:18-alpine", "no findings to read"),
    ],
)
def test_scan_gate_exits_2_with_one_line_when_it_cannot_decide(pushed, image, words):
    result = gate(pushed, image)
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("ecrlab: "), result.stderr
    assert words in result.stderr


def test_scan_gate_threshold_is_case_insensitive(pushed):
    # The sample image has two CRITICAL findings (the feed's README); a bad threshold is exit 2, not "passed".
    upper, lower = (
        gate(pushed, "scanned:18-alpine", "--threshold", "CRITICAL"),
        gate(pushed, "scanned:18-alpine", "--threshold", "critical"),
    )
    assert upper.returncode == lower.returncode == 1
    assert lower.stdout.splitlines()[-1].startswith("FAIL: 2 finding(s) at or above CRITICAL")
    bad = gate(pushed, "scanned:18-alpine", "--threshold", "severe")
    assert bad.returncode == 2 and bad.stderr.startswith("ecrlab: --threshold: 'severe' is invalid: must be one of")


def test_output_into_a_reader_that_has_gone_ends_quietly():
    # `ecrlab emulator coverage | head -1`: whether head has left before the first write depends on timing, so the
    # reading end is closed before the command writes at all.
    read, write = os.pipe()
    os.close(read)
    proc = subprocess.run(
        [str(BIN / "ecrlab"), "emulator", "coverage"], stdout=write, stderr=subprocess.PIPE, text=True, timeout=60
    )
    os.close(write)
    assert proc.stderr == ""
    assert proc.returncode == 1


def test_runs_list_has_a_header_and_lists_demo_runs_by_an_id_show_takes(tmp_path, capsys):
    # The two layouts: `ecrlab run` writes <runs>/<run id>/, `ecrlab demo` <runs>/<timestamp>/<feature>/
    # (tests/test_product.py checks both against the real commands).
    root = tmp_path / "runs"
    for folder, run_id, started in (
        ("20260101T000000000000Z-replication", "20260101T000000000000Z-replication", "2026-01-01T00:00:00"),
        ("20260102T000000Z/scanning", "scanning", "2026-01-02T00:00:00"),
    ):
        (root / folder).mkdir(parents=True)
        record = {"run_id": run_id, "location": f"{root}/{folder}", "started_at": started, "outcome": "applied"}
        (root / folder / "audit.json").write_text(json.dumps(record | {"target": "emulator", "region": "us-east-1"}))
    assert cli.main(["runs", "--runs", str(root), "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["RUN", "ID", "TARGET", "ACCOUNT", "REGION", "OUTCOME"]
    ids = [line.split()[0] for line in lines[1:]]
    assert ids == ["20260101T000000000000Z-replication", "20260102T000000Z/scanning"]
    assert cli.main(["runs", "--runs", str(root), "show", ids[1]]) == 0
    assert json.loads(capsys.readouterr().out)["run_id"] == "scanning"
    assert cli.main(["runs", "--runs", str(tmp_path / "none"), "list"]) == 0
    assert capsys.readouterr().out.startswith("no recorded runs under")
