"""`ecrlab.pull_through_cache`: the spec, plan/apply, credentials, the audit, a traced pull, the panel, the exercise."""

from __future__ import annotations

import pytest

import ecrlab
from ecrlab import pull_through_cache as ptc
from ecrlab.exercises import check_k8s_pause_rule
from ecrlab.plan import apply, restore
from ecrlab.pull_through_cache import PullThroughCacheRule
from ecrlab.upstream_knobs import STAND_IN_CREDENTIALS, Upstreams
from ecrlab.widgets.pull_through_cache_panel import PullThroughCachePanel

HUB = "registry-1.docker.io"


def hub_secret(registry, name: str = "docker-hub", token: str = STAND_IN_CREDENTIALS["accessToken"]) -> str:
    return ptc.create_credential(registry, name, STAND_IN_CREDENTIALS["username"], token)


def rules(registry) -> dict[str, PullThroughCacheRule]:
    return {rule.ecr_repository_prefix: rule for rule in ptc.read(registry)}


def test_the_seeds_rule_names_the_field_and_the_fix():
    with pytest.raises(ecrlab.ValidationError) as excinfo:
        PullThroughCacheRule("docker", "public.ecr.aws/docker/library")
    error = excinfo.value
    assert error.field == "upstream_registry_url" and error.value == "public.ecr.aws/docker/library"
    assert "registry host, not a path" in error.rule and "'public.ecr.aws'" in error.rule
    assert "'docker/library' in the upstream repository prefix" in error.rule


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ecr_repository_prefix": "Docker", "upstream_registry_url": "quay.io"}, "ecr_repository_prefix"),
        ({"ecr_repository_prefix": "hub", "upstream_registry_url": HUB}, "credential_arn"),
        ({"ecr_repository_prefix": "q", "upstream_registry_url": "quay.io"}, "ecr_repository_prefix"),
        ({"ecr_repository_prefix": "hub", "upstream_registry_url": "docker.io"}, "upstream_registry_url"),
        ({"ecr_repository_prefix": "q1", "upstream_registry_url": "quay.io", "upstream_registry": "k8s"},
         "upstream_registry"),
        ({"ecr_repository_prefix": "ROOT", "upstream_registry_url": "quay.io", "upstream_repository_prefix": "x1"},
         "upstream_repository_prefix"),
    ],
)  # fmt: skip
def test_spec_errors_name_the_field(fields, field):
    with pytest.raises(ecrlab.ValidationError) as excinfo:
        PullThroughCacheRule(**fields)
    assert excinfo.value.field == field


def test_the_kind_is_inferred_and_the_image_uri_follows_the_mapping(registry):
    rule = PullThroughCacheRule("docker", "public.ecr.aws", upstream_repository_prefix="docker/library")
    assert rule.upstream_registry == "ecr-public"
    host = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    assert rule.image_uri(registry, "docker/library/node:18-alpine") == f"{host}/docker/node:18-alpine"
    assert rule.image_uri(registry, "docker/library/node") == f"{host}/docker/node:latest"
    with pytest.raises(ecrlab.ValidationError):
        rule.image_uri(registry, "bitnami/redis:7")


def test_plan_apply_update_replace_and_restore(registry, tmp_path):
    first, second = hub_secret(registry), hub_secret(registry, "docker-hub-2")
    hub = PullThroughCacheRule("docker-hub", HUB, credential_arn=first)
    public = PullThroughCacheRule("ecr-public", "public.ecr.aws")
    created = apply(ptc.plan(registry, hub, public), registry, dry_run=False)
    assert [c.action for c in created.applied] == ["create", "create"]
    assert ptc.plan(registry, hub, public).empty

    calls = []
    registry.client().meta.events.register("before-call.ecr.*", lambda model, **_: calls.append(model.name))
    moved = PullThroughCacheRule("docker-hub", HUB, credential_arn=second)
    result = apply(ptc.plan(registry, moved), registry, dry_run=False, backup_dir=tmp_path)
    assert "UpdatePullThroughCacheRule" in calls and "DeletePullThroughCacheRule" not in calls
    assert rules(registry)["docker-hub"].credential_arn == second

    calls.clear()
    elsewhere = PullThroughCacheRule("docker-hub", "ghcr.io", credential_arn=second)
    apply(ptc.plan(registry, elsewhere), registry, dry_run=False)
    assert "DeletePullThroughCacheRule" in calls and "CreatePullThroughCacheRule" in calls

    # The rule changed again after the run: rolling the run back would overwrite that change, so it needs force.
    with pytest.raises(ecrlab.GuardError, match="changed since the run"):
        restore(registry, result.backup, dry_run=False)
    restore(registry, result.backup, dry_run=False, force=True)  # the setting kind is found from the backup alone
    assert rules(registry)["docker-hub"] == hub
    removed = apply(ptc.plan(registry, public, delete_others=True), registry, dry_run=False)
    assert [(c.action, c.setting.key) for c in removed.applied] == [("delete", "docker-hub")]


def test_plan_checks_the_secret_is_in_this_account_and_region(registry):
    foreign = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecr-pullthroughcache/hub"
    with pytest.raises(ecrlab.ValidationError) as excinfo:
        ptc.plan(registry, PullThroughCacheRule("hub", HUB, credential_arn=foreign))
    assert excinfo.value.field == "credential_arn"


def test_credentials_are_listed_and_overwritten(registry):
    arn = hub_secret(registry)
    assert ptc.credentials(registry) == [arn]
    assert hub_secret(registry, token="new") == arn
    with pytest.raises(ecrlab.ValidationError):
        ptc.create_credential(registry, "bad name!", "u", "t")


def test_validate_reports_a_wrong_token(registry):
    rule = PullThroughCacheRule("hub", HUB, credential_arn=hub_secret(registry, token="wrong"))
    apply(ptc.plan(registry, rule), registry, dry_run=False)
    result = ptc.validate(registry, "hub")
    assert result["isValid"] is False and "401" in result["failure"]


def test_audit_and_traced_pulls(registry):
    rule = PullThroughCacheRule("docker-hub", HUB, credential_arn=hub_secret(registry))
    apply(ptc.plan(registry, rule), registry, dry_run=False)
    registry.client().create_repository(repositoryName="app")
    miss = ptc.try_pull(registry, "docker-hub/library/alpine", "3.19")
    assert miss.outcome == "miss" and len(miss.requests) == 1 + 2 + 4  # the index, two images, their blobs
    assert "participant U as registry-1.docker.io" in miss.mermaid() and "```mermaid" in miss._repr_markdown_()
    hit = ptc.try_pull(registry, "docker-hub/library/alpine", "3.19")
    assert hit.outcome == "hit" and hit.requests == () and "no upstream request" in str(hit)
    registry.emulator.advance(hours=24)
    assert ptc.try_pull(registry, "docker-hub/library/alpine", "3.19").outcome == "re-checked"
    Upstreams(registry).publish(HUB, "library/alpine", "3.19", "alpine-node")
    registry.emulator.advance(hours=24)
    assert ptc.try_pull(registry, "docker-hub/library/alpine", "3.19").outcome == "refreshed"
    failed = ptc.try_pull(registry, "docker-hub/node", "18-alpine")
    assert failed.outcome == "failed" and failed.status == 403 and "403 UpstreamAccessDenied" in failed.mermaid()

    audit = ptc.audit(registry)
    assert list(audit.columns) == ptc.AUDIT_COLUMNS
    [row] = audit.to_dict("records")
    assert row["repository"] == "docker-hub/library/alpine" and row["upstream"] == f"{HUB}/library/alpine"
    assert row["images"] == 4 and row["tags"] == "3.19"


def test_the_panel_fills_urls_validates_inline_creates_secrets_and_traces_a_pull(registry):
    panel = PullThroughCachePanel(registry)
    panel.inputs["upstream_registry"].value = "ecr-public"
    assert panel.inputs["upstream_registry_url"].value == "public.ecr.aws"
    assert panel.inputs["ecr_repository_prefix"].value == "ecr-public"
    panel.inputs["upstream_registry_url"].value = "public.ecr.aws/docker/library"
    assert "not a path" in panel.form.errors["upstream_registry_url"].value  # without pressing Plan
    panel.inputs["upstream_registry"].value = "docker-hub"
    assert "must be set" in panel.form.errors["credential_arn"].value
    panel.username.value, panel.token.value = STAND_IN_CREDENTIALS["username"], STAND_IN_CREDENTIALS["accessToken"]
    arn = panel.create_secret()
    assert panel.inputs["credential_arn"].value == arn and panel.token.value == ""
    assert panel.form.errors["credential_arn"].value == ""
    panel.form.plan_button.click()
    panel.form.apply_button.click()
    assert "Applied 1 change(s)" in panel.form.result.value
    assert panel.try_pull().outcome == "miss" and "miss" in panel.outcome.value
    assert panel.try_pull().outcome == "hit" and panel.last_report.mermaid().startswith("sequenceDiagram")
    run, _ = panel.form.show_commands()
    assert (
        run.startswith("ecrlab run pull-through-cache --target aws") and '"ecr_repository_prefix": "docker-hub"' in run
    )
    assert "upstream_registry" not in run.replace("upstream_registry_url", "")  # inferred from the host


def test_the_exercise_check():
    assert check_k8s_pause_rule(None).startswith("Not yet")
    assert check_k8s_pause_rule(PullThroughCacheRule("k8s", "registry.k8s.io")).startswith("Right")
    wrong_path = PullThroughCacheRule("k8s", "registry.k8s.io", upstream_repository_prefix="pause")
    assert "registry.k8s.io/pause/pause:3.9" in check_k8s_pause_rule(wrong_path)
    assert "does not cover" in check_k8s_pause_rule(PullThroughCacheRule("k8s/pause", "registry.k8s.io"))
    assert "registry.k8s.io" in check_k8s_pause_rule(PullThroughCacheRule("k8s", "quay.io"))
