"""The scanning panel and the findings explorer: live matches as you type, errors at the field, plan/apply, filters."""

from __future__ import annotations

from ecrlab import images, scan_results, scanning
from ecrlab.plan import apply
from ecrlab.widgets.form import INVALID_BORDER
from ecrlab.widgets.scanning_panel import FindingsExplorer, ScanningPanel, runbook_parameters
from tests.conftest import ROOT

NAMES = ["prod", "nonprod-sandbox", "app-release", "tools"]


def test_matches_follow_the_filters_as_you_type(registry):
    panel = ScanningPanel(registry, NAMES)
    assert panel.form.inputs["scan_type"].value == "BASIC"
    assert "0 of 4 repositories scanned automatically" in panel.matches.value
    panel.form.inputs["on_push"].value = "prod"
    assert "2 of 4 repositories scanned automatically" in panel.matches.value  # prod and nonprod-sandbox
    frame = panel.refresh()
    assert frame.set_index("repository")["matched_filters"].to_dict()["nonprod-sandbox"] == "prod"
    panel.form.inputs["on_push"].value = "prod*\n*-release"
    assert panel.refresh()["scanning"].tolist() == [
        "scanned on push",
        "manual scans only",
        "scanned on push",
        "manual scans only",
    ]


def test_a_broken_filter_is_shown_at_its_field(registry):
    panel = ScanningPanel(registry, NAMES)
    panel.form.inputs["continuous"].value = "*"
    assert "needs scan_type ENHANCED" in panel.form.errors["continuous"].value
    assert panel.form.inputs["continuous"].layout.border == INVALID_BORDER
    assert "Fix the highlighted field" in panel.matches.value
    panel.form.inputs["scan_type"].value = "ENHANCED"
    assert panel.form.errors["continuous"].value == ""
    assert "scanned on push and continuously" in panel.matches.value
    assert "not scanned" not in panel.matches.value


def test_plan_and_apply_from_the_panel_and_its_runbook_command(registry):
    registry.client().create_repository(repositoryName="app")
    panel = ScanningPanel(registry)
    assert panel.repository_names == ["app"]
    panel.form.inputs["on_push"].value = "app"
    panel.form.plan_button.click()
    assert "scanning-configuration/registry" in panel.form.result.value
    panel.form.apply_button.click()
    assert "Applied 1 change(s)" in panel.form.result.value
    assert scanning.read(registry) == scanning.ScanningSpec("BASIC", on_push=["app"])
    # The runbook keeps the registry's scan type unless told, so the form's scan type is always passed.
    assert runbook_parameters({"scan_type": "BASIC", "on_push": ("app",), "continuous": ()}) == {
        "scan_type": "BASIC",
        "scan_on_push_filters": ["app"],
        "remove_unlisted": True,  # the panel holds every filter of the registry: one it lacks is removed
    }
    run, _ = panel.form.show_commands()
    assert run == (
        "ecrlab run scanning --target aws --region us-east-1 -p scan_type=BASIC -p 'scan_on_push_filters=[\"app\"]'"
        " -p remove_unlisted=true"
    )


def test_findings_explorer_filters_by_severity_and_fix(registry):
    apply(scanning.plan(registry, scanning.ScanningSpec("BASIC", on_push=["*"])), registry, dry_run=False)
    registry.client().create_repository(repositoryName="node")
    images.push(registry, ROOT / "data" / "images" / "alpine-node", "node")
    basic = FindingsExplorer(scan_results.findings(registry, "node", tag="18-alpine"))
    assert basic.severity.value == ("CRITICAL", "HIGH", "MEDIUM", "UNDEFINED")
    # ECR's own counts: a basic finding per (CVE, package), so distinct names are the vulnerabilities.
    ecr_basic = registry.client().describe_image_scan_findings(repositoryName="node", imageId={"imageTag": "18-alpine"})
    cves = {f["name"] for f in ecr_basic["imageScanFindings"]["findings"]}
    assert len(ecr_basic["imageScanFindings"]["findings"]) == 22
    assert f"22 of 22 rows shown: {len(cves)} vulnerabilities" in basic.summary.value
    basic.severity.value = ("CRITICAL",)
    assert len(basic.filtered()) == 2 and "CVE-2024-5535" in basic.table.value
    basic.fixable.value = True
    assert basic.filtered().empty and "switch the registry to ENHANCED" in basic.summary.value
    apply(scanning.plan(registry, scanning.ScanningSpec("ENHANCED", continuous=["*"])), registry, dry_run=False)
    enhanced = FindingsExplorer(scan_results.findings(registry, "node", tag="18-alpine"))
    # Inspector: one finding per CVE, with every package it affects; ECR counts findings, the explorer shows rows.
    ecr_enhanced = registry.client().describe_image_scan_findings(
        repositoryName="node", imageId={"imageTag": "18-alpine"}
    )
    counted = sum(ecr_enhanced["imageScanFindings"]["findingSeverityCounts"].values())
    assert counted < len(enhanced.frame) and f"{counted} vulnerabilities" in enhanced.summary.value
    enhanced.fixable.value = True
    enhanced.severity.value = ("HIGH",)
    assert enhanced.filtered()[["package", "fixed"]].values.tolist() == [
        ["libcrypto3", "3.1.7-r0"],
        ["libssl3", "3.1.7-r0"],
    ]


def test_an_empty_registry_shows_an_empty_explorer(registry):
    explorer = FindingsExplorer(scan_results.findings(registry))
    assert "0 of 0 rows shown: 0 vulnerabilities" in explorer.summary.value and explorer.table.value == ""
    assert "No repositories" in ScanningPanel(registry).matches.value


def test_findings_explorer_sorts_and_finds_a_package(registry):
    apply(scanning.plan(registry, scanning.ScanningSpec("BASIC", on_push=["*"])), registry, dry_run=False)
    registry.client().create_repository(repositoryName="node")
    images.push(registry, ROOT / "data" / "images" / "alpine-node", "node")
    explorer = FindingsExplorer(scan_results.findings(registry, "node", tag="18-alpine"))
    ranks = [scan_results.SEVERITIES.index(s) for s in explorer.filtered()["severity"]]
    assert ranks == sorted(ranks) and explorer.filtered()["severity"].iloc[0] == "CRITICAL"  # not alphabetical
    explorer.sort.value = "package"
    packages = explorer.filtered()["package"].tolist()
    assert packages == sorted(packages) and packages[0] == "busybox"
    explorer.package.value = "SSL"  # case-insensitive, part of the name
    assert set(explorer.filtered()["package"]) == {"libssl3"}
    assert f"{len(explorer.filtered())} of 22 rows shown" in explorer.summary.value
    assert "libcrypto3" not in explorer.table.value
