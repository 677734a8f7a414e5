"""Runbooks: parameter validation, `ecrlab run` records, guard refusal, rollback, S3 output."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import ecrlab
from ecrlab.errors import EcrlabError, ValidationError
from ecrlab.parameters import runbook
from ecrlab.runbook import start
from ecrlab.runs import records, rollback, run, show
from tests.conftest import BIN

FILES = ("audit.json", "backup.json", "notebook.html", "notebook.ipynb")

BOOK = runbook("start-here")


def test_defaults_and_coercion_of_papermill_values():
    params = BOOK.validate({"target": "aws", "apply": "True", "expected_account_id": 12345678901})
    assert params == {
        "target": "aws",
        "region": "us-east-1",
        "profile": None,
        "apply": True,
        "expected_account_id": "012345678901",
        "assume_role_arn": None,
        "reviewed_plan": None,
        "demo_repository": False,  # lesson artefacts are made in a real account only when asked
    }


@pytest.mark.parametrize(
    ("values", "field", "rule"),
    [
        ({"target": "prod"}, "target", "must be one of emulator, aws"),
        ({"region": "europe"}, "region", "must be an AWS region"),
        ({"apply": "yes"}, "apply", "must be True or False"),
        ({"expected_account_id": "1234"}, "expected_account_id", "12-digit"),
        ({"target": "aws", "apply": True}, "expected_account_id", "required when target is aws and apply is True"),
        ({"profile": "prod"}, "profile", "only applies when target is aws"),
        ({"destinations": "[]"}, "destinations", "is not a parameter of the start-here runbook"),
    ],
)
def test_bad_parameters_name_the_parameter(values, field, rule):
    with pytest.raises(ValidationError) as excinfo:
        BOOK.validate(values)
    assert excinfo.value.field == field and rule in excinfo.value.rule


def test_unknown_feature_is_refused():
    with pytest.raises(ValidationError, match="feature"):
        runbook("nope")


def ecrlab_cli(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "ecrlab"), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def repo_names(url: str) -> list[str]:
    reg = ecrlab.connect(endpoint_url=url)
    return [r["repositoryName"] for r in reg.client().describe_repositories()["repositories"]]


def test_a_lesson_on_the_emulator_starts_from_an_empty_registry_at_the_workshop_start(registry):
    # What a learner's second Run All meets: the first run's repositories and a clock moved on.
    start_time = registry.emulator.now()
    registry.client().create_repository(repositoryName="hello-ecrlab", imageTagMutability="IMMUTABLE")
    registry.emulator.advance(days=100)
    session = start("start-here", {"target": "emulator"})
    assert session.registry.client().describe_repositories()["repositories"] == []
    assert session.registry.emulator.now() == start_time


def test_a_runbook_against_aws_never_resets_the_registry(aws_env):
    ecrlab.connect(endpoint_url=aws_env).client().create_repository(repositoryName="team/service")
    session = start("start-here", {"target": "aws"})
    assert [r["repositoryName"] for r in session.registry.client().describe_repositories()["repositories"]] == [
        "team/service"
    ]


def test_dry_run_on_aws_writes_nothing_and_records_the_plan(aws_env, tmp_path):
    record = run("start-here", {"target": "aws", "demo_repository": True}, str(tmp_path))
    assert record["outcome"] == "dry-run" and record["account_id"] == "123456789012"
    assert record["applies"][0]["plan"]["changes"][0]["key"] == "hello-ecrlab"
    assert repo_names(aws_env) == []
    saved = show(record["run_id"], str(tmp_path))
    assert saved["caller"] == "arn:aws:sts::123456789012:user/moto" and "started_at" in saved
    assert (tmp_path / record["run_id"] / "notebook.html").read_text().startswith("<!DOCTYPE html>")


def test_wrong_account_is_refused_before_any_write_with_exit_3(aws_env, tmp_path):
    proc = ecrlab_cli(
        "run",
        "start-here",
        "--target",
        "aws",
        "--apply",
        "--expected-account-id",
        "999999999999",
        "--output",
        str(tmp_path),
        cwd=tmp_path,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "refused" in proc.stdout and "999999999999" in proc.stdout
    assert repo_names(aws_env) == []
    assert records(str(tmp_path))[0]["outcome"] == "refused"


def test_apply_then_rerun_plans_nothing_then_rollback_restores(aws_env, tmp_path):
    values = {"target": "aws", "apply": True, "expected_account_id": "123456789012", "demo_repository": True}
    applied = run("start-here", values, str(tmp_path))
    assert applied["outcome"] == "applied" and applied["verified"]
    assert repo_names(aws_env) == ["hello-ecrlab"]
    again = run("start-here", values, str(tmp_path))
    assert again["outcome"] == "no-changes" and again["applies"][0]["plan"]["changes"] == []
    dry = rollback(show(applied["run_id"], str(tmp_path)))
    assert dry[0].dry_run and repo_names(aws_env) == ["hello-ecrlab"]
    done = rollback(show(applied["run_id"], str(tmp_path)), apply=True, expected_account_id="123456789012")
    assert [c.action for c in done[0].applied] == ["delete"]
    assert repo_names(aws_env) == []


def test_cli_run_list_show(aws_env, tmp_path):
    proc = ecrlab_cli(
        "run", "start-here", "--target", "aws", "-p", "demo_repository=true", "--output", str(tmp_path), cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "dry-run" in proc.stdout and "create  repository/hello-ecrlab" in proc.stdout
    listed = ecrlab_cli("runs", "--runs", str(tmp_path), "list", cwd=tmp_path).stdout
    run_id = listed.splitlines()[1].split()[0]  # under the header
    assert "aws" in listed and "dry-run" in listed
    shown = json.loads(ecrlab_cli("runs", "--runs", str(tmp_path), "show", run_id, cwd=tmp_path).stdout)
    assert shown["run_id"] == run_id
    bad = ecrlab_cli("run", "start-here", "-p", "region=mars", cwd=tmp_path)
    assert bad.returncode == 2 and "region: 'mars' is invalid" in bad.stderr


def test_records_can_go_to_s3_one_prefix_per_run(aws_env, tmp_path):
    reg = ecrlab.connect("aws", region="us-east-1")
    reg.client("s3").create_bucket(Bucket="runbook-records")
    first = run("start-here", {"target": "aws"}, "s3://runbook-records/ecrlab", run_id="first")
    run("start-here", {"target": "aws"}, "s3://runbook-records/ecrlab/", run_id="second")
    assert first["location"] == "s3://runbook-records/ecrlab/first"
    keys = sorted(o["Key"] for o in reg.client("s3").list_objects_v2(Bucket="runbook-records")["Contents"])
    # A scheduled runbook writing to one prefix keeps every run's record, not just the last one.
    assert keys == [f"ecrlab/{run}/{name}" for run in ("first", "second") for name in FILES]
    body = reg.client("s3").get_object(Bucket="runbook-records", Key="ecrlab/first/audit.json")["Body"].read()
    assert json.loads(body)["outcome"] == "dry-run"


def test_records_s3_refuses_after_the_run_are_kept_locally_and_the_error_says_where(aws_env, tmp_path, monkeypatch):
    from botocore.exceptions import ClientError

    from ecrlab.run_storage import RunStorageError, S3RunStorage

    reg = ecrlab.connect("aws", region="us-east-1")
    reg.client("s3").create_bucket(Bucket="runbook-records")

    def refused(storage, run_id, files):  # e.g. a bucket policy that denies PutObject to this role
        denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject")
        raise RunStorageError(str(denied))

    monkeypatch.setattr(S3RunStorage, "write", refused)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(EcrlabError) as excinfo:
        run("start-here", {"target": "aws"}, "s3://runbook-records/records", run_id="kept")
    assert "could not write the run's records to s3://runbook-records/records/kept" in str(excinfo.value)
    assert "AccessDenied" in str(excinfo.value) and "runs/kept/ instead" in str(excinfo.value)
    assert sorted(p.name for p in (tmp_path / "runs" / "kept").iterdir()) == sorted(FILES)


def test_s3_storage_reports_a_refused_write_as_a_storage_error(aws_env):
    from ecrlab.run_storage import RunStorageError, storage

    with pytest.raises(RunStorageError, match="NoSuchBucket"):  # S3's own error code, as PutObject returns it
        storage("s3://no-such-bucket/records").write("kept", {"audit.json": "{}"})


def test_an_unusable_output_is_refused_before_the_notebook_runs(aws_env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError, match="names a bucket that does not exist: no-such-bucket"):
        run(
            "start-here", {"target": "aws", "apply": True, "expected_account_id": "123456789012"}, "s3://no-such-bucket"
        )
    assert repo_names(aws_env) == []  # refused before the runbook could apply anything
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(ValidationError) as excinfo:
        run("start-here", {}, "s3://runbook-records")
    assert (excinfo.value.field, excinfo.value.value) == ("output", "s3://runbook-records")
    assert "needs AWS credentials" in excinfo.value.rule
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ValidationError, match=r"output: .* cannot be created"):
        run("start-here", {}, str(tmp_path / "file" / "runs"))
    assert not (tmp_path / "runs").exists()  # nothing ran, so nothing was kept either


def test_copied_commands_are_accepted_by_the_runbook(aws_env, tmp_path):
    import shlex

    from ecrlab.parameters import commands

    run_command, _ = commands("permissions", {"admin_roles": ["platform-admin"]})
    proc = ecrlab_cli(*shlex.split(run_command)[1:], "--output", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "dry-run" in proc.stdout and "create  registry-policy/policy" in proc.stdout


def test_kernels_talk_over_private_unix_sockets_and_log_only_critical(tmp_path):
    import nbformat

    from ecrlab.runs import execute

    notebook = nbformat.v4.new_notebook()
    source = (
        "from ipykernel import get_connection_info\n"
        "from ipykernel.kernelapp import IPKernelApp\n"
        "print(get_connection_info())\n"
        "print(IPKernelApp.instance().log_level)"
    )
    notebook.cells = [nbformat.v4.new_code_cell(source)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "in.ipynb")
    assert execute(tmp_path / "in.ipynb", tmp_path / "out.ipynb").ok
    printed, level = nbformat.read(tmp_path / "out.ipynb", 4).cells[0].outputs[0]["text"].rsplit("\n", 2)[:2]
    info = json.loads(printed)
    assert level == "50"  # CRITICAL: the interrupt before shutdown logs an ERROR that is only noise
    assert info["transport"] == "ipc"
    assert info["ip"].endswith("/kernel") and "ecrlab-kernel-" in info["ip"]
    assert not Path(info["ip"]).parent.exists()  # the sockets' folder is gone with the kernel


def test_runs_on_s3_are_listed_shown_and_rolled_back_from_s3(aws_env, tmp_path):
    reg = ecrlab.connect("aws", region="us-east-1")
    reg.client("s3").create_bucket(Bucket="runbook-records")
    root = "s3://runbook-records/prod"
    values = {"target": "aws", "apply": True, "expected_account_id": "123456789012", "demo_repository": True}
    applied = run("start-here", values, root, run_id="20260101T000000Z-start-here")
    run("start-here", {"target": "aws"}, root, run_id="20260102T000000Z-start-here")
    assert [r["outcome"] for r in records(root)] == ["applied", "dry-run"]  # oldest first
    listed = ecrlab_cli("runs", "--runs", root, "list", cwd=tmp_path)
    assert listed.returncode == 0 and listed.stdout.splitlines()[1].split()[0] == applied["run_id"]
    with pytest.raises(ValidationError, match="no run with this id under s3://runbook-records/prod/"):
        show("never-ran", root)
    assert repo_names(aws_env) == ["hello-ecrlab"]
    back = ecrlab_cli(
        "rollback", applied["run_id"], "--runs", root, "--apply", "--expected-account-id", "123456789012", cwd=tmp_path
    )
    assert back.returncode == 0, back.stderr
    assert repo_names(aws_env) == []
    # The rollback left its own record next to the run's, and the run now lists as rolled back.
    listed = ecrlab_cli("runs", "--runs", root, "list", cwd=tmp_path).stdout
    assert "rolled-back by " in listed.splitlines()[1] and "rollback" in listed
    missing = ecrlab_cli("runs", "--runs", "s3://no-such-bucket/x", "list", cwd=tmp_path)
    assert missing.returncode == 2 and "runs: 's3://no-such-bucket/x' is invalid: cannot be read" in missing.stderr


@pytest.mark.slow
def test_a_new_feature_runbook_applies_then_plans_nothing_then_rolls_back(aws_env, tmp_path):
    """The pull-time exclusions runbook against an AWS endpoint: the exclusion it registers is backed up in the
    record before the write, and rolling the run back deregisters it and only it."""
    reg = ecrlab.connect("aws", region="us-east-1")
    other = "arn:aws:iam::123456789012:role/inventory"
    reg.client().register_pull_time_update_exclusion(principalArn=other)
    values = {"target": "aws", "apply": True, "expected_account_id": "123456789012", "excluded_roles": ["scanner"]}

    def listed() -> list[str]:
        return reg.client().list_pull_time_update_exclusions()["pullTimeUpdateExclusions"]

    applied = run("pull-time-exclusions", values, str(tmp_path))
    assert applied["outcome"] == "applied" and applied["verified"]
    assert listed() == [other, "arn:aws:iam::123456789012:role/scanner"]  # deregister_others is False by default
    assert applied["backups"][0]["settings"] == [
        {
            "kind": "pull-time-update-exclusion",
            "key": "arn:aws:iam::123456789012:role/scanner",
            "value": None,
            "after": "arn:aws:iam::123456789012:role/scanner",  # what the run wrote: rollback undoes just that
        }
    ]
    assert run("pull-time-exclusions", values, str(tmp_path))["outcome"] == "no-changes"
    rollback(show(applied["run_id"], str(tmp_path)), apply=True, expected_account_id="123456789012")
    assert listed() == [other]
