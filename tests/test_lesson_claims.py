"""Claims the lessons make, checked against their sources (issue 21's fact-check; docs/fidelity.md cites each)."""

from __future__ import annotations

import json

import botocore.session

from ecrlab.ecr_model import ecr_model
from ecrlab.package_data import notebooks


def _markdown(name: str) -> str:
    notebook = json.loads((notebooks() / name).read_text())
    return "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown")


def _code(name: str) -> str:
    notebook = json.loads((notebooks() / name).read_text())
    return "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")


def test_lesson_05_says_when_the_scan_waiter_gives_up():
    """botocore's ImageScanComplete waiter: 60 attempts 5 s apart, so about 5 minutes, not forever."""
    waiter = botocore.session.get_session().get_waiter_model("ecr").get_waiter("ImageScanComplete")
    minutes = waiter.delay * waiter.max_attempts // 60
    text = _markdown("05_scanning.ipynb")
    assert "wait forever" not in text
    assert f"about {minutes} minutes" in text and f"{waiter.max_attempts} checks {waiter.delay} seconds apart" in text


def test_lesson_05_teaches_where_aws_native_basic_results_are_read():
    """botocore model, DescribeImages: basic scanning doesn't use imageScanFindingsSummary / imageScanStatus."""
    assert (
        "doesn't use the <a>ImageDetail$imageScanFindingsSummary</a>"
        in ecr_model().operation_model("DescribeImages").documentation
    )
    text = _markdown("05_scanning.ipynb")
    assert "AWS_NATIVE" in text and "2 February 2026" in text
    assert "`imageScanFindingsSummary` and `imageScanStatus`" in text and "DescribeImageScanFindings" in text
    assert 'get_account_setting(name="BASIC_SCAN_TYPE_VERSION")' in _code("05_scanning.ipynb")


def test_lesson_02_describes_the_lifecycle_rule_it_applies():
    """The template's rule counts sinceImagePushed, which ages from the push, not from losing the tag."""
    assert '"countType": "sinceImagePushed"' in _code("02_pull_through_cache.ipynb")
    text = _markdown("02_pull_through_cache.ipynb")
    assert "a day after they lose their tag" not in text and "`sinceImagePushed` counts from the push" in text
    assert '"at least once every 24 hours"' in text  # pull-through-cache.html


def test_lesson_03_says_create_on_push_needs_a_template():
    """repository-creation-templates.html: without a matching template ECR "will not create a repository"."""
    intro = _markdown("03_repository_creation_templates.ipynb").split("##", 1)[0]
    assert "only when a `CREATE_ON_PUSH`\ntemplate matches" in intro and "no repository is created" in intro


def test_lesson_01_teaches_v1_as_legacy():
    """registry-permissions-account-settings.html: AWS doesn't recommend reverting to V1; the model documents V2."""
    assert "Valid values for registry policy scope: <code>V2</code>" in (
        ecr_model().operation_model("PutAccountSetting").input_shape.members["value"].documentation
    )
    text = _markdown("01_registry_permissions.ipynb")
    assert "doesn't recommend reverting to the previous registry policy V1" in text and "**legacy**" in text


def test_lesson_04_marks_the_emulators_own_failure_code():
    assert "`ReplicateImageAccessDenied` above is the emulator's own failure code" in _markdown("04_replication.ipynb")


def test_lessons_and_readme_quote_the_models_replication_limits():
    """ReplicationRuleList max 25, ReplicationDestinationList max 100, RepositoryFilterList max 100 (botocore model)."""
    from ecrlab.replication_rules import MAX_DESTINATIONS_PER_RULE, MAX_FILTERS_PER_RULE, MAX_RULES
    from tests.conftest import ROOT

    model = ecr_model()
    limits = [model.shape_for(n).metadata["max"] for n in ("ReplicationRuleList", "ReplicationDestinationList")]
    assert limits == [MAX_RULES, MAX_DESTINATIONS_PER_RULE] == [25, 100] and MAX_FILTERS_PER_RULE == 100
    lesson = " ".join(_markdown("04_replication.ipynb").split())
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert f"up to {MAX_RULES} rules, each with up to {MAX_DESTINATIONS_PER_RULE} destinations" in lesson
    assert f"{MAX_RULES} rules, {MAX_DESTINATIONS_PER_RULE} destinations and {MAX_FILTERS_PER_RULE} filters" in lesson
    assert f"up to {MAX_RULES} rules, each with up to {MAX_DESTINATIONS_PER_RULE} destinations" in readme
    assert "unique destinations" not in lesson + readme
