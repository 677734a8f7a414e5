"""Executing runbooks headless: papermill runs, their records (kept by `ecrlab.run_storage`: a folder or S3),
listing, showing, rollback."""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ecrlab.errors import EcrlabError, ValidationError
from ecrlab.package_data import notebooks
from ecrlab.parameters import RUNBOOKS, runbook
from ecrlab.run_storage import LocalRunStorage, RunStorage, RunStorageError, location, storage
from ecrlab.runbook import AUDIT_MIME, BACKUP_MIME


@dataclass(frozen=True)
class RunResult:
    notebook: Path
    output: Path
    ok: bool
    seconds: float
    error: str = ""
    ename: str = ""


def _kernel_transport(folder: str) -> Any:
    """Kernel sockets as private Unix sockets in `folder` where the OS has them.

    TCP on loopback is reachable by every local user and makes ipykernel warn on each start; IPC files need a
    folder of their own per kernel, or kernels run side by side (demo, fleet) would share socket names.
    """
    from traitlets.config import Config

    if os.name != "posix":
        return Config()
    return Config({"KernelManager": {"transport": "ipc", "ip": str(Path(folder) / "kernel")}})


def execute(notebook: Path, output: Path, parameters: dict[str, Any] | None = None) -> RunResult:
    """Execute one notebook with papermill; a failing cell becomes a failed result, not an exception."""
    import papermill

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ecrlab-kernel-") as sockets:
        try:
            papermill.execute_notebook(
                str(notebook),
                str(output),
                parameters=parameters or {},
                progress_bar=False,
                kernel_name="python3",
                # Written once at the end: saving after every cell re-serialises the whole notebook (widget state,
                # tables) and was most of the parent's CPU in `ecrlab demo`.
                request_save_on_cell_execute=False,
                # The kernel starts in the notebook's folder. Not papermill's `cwd`: that chdir()s the whole
                # process, which races when demo or fleet run notebooks in threads.
                resources={"metadata": {"path": str(notebook.parent)}},
                config=_kernel_transport(sockets),
                # jupyter_client interrupts a kernel before shutting it down; when the signal lands mid-message,
                # ipykernel logs "KeyboardInterrupt caught in kernel" as an ERROR on the terminal. A run's real
                # errors reach it through the notebook's outputs, not this log.
                extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
            )
        except papermill.PapermillExecutionError as error:
            summary = f"cell {error.exec_count}: {error.ename}: {error.evalue}"
            return RunResult(notebook, output, False, time.perf_counter() - start, summary, error.ename)
    return RunResult(notebook, output, True, time.perf_counter() - start)


def _audit_from(executed: Path) -> dict[str, Any] | None:
    """The last audit record the notebook displayed (each apply displays the cumulative record), with any backups
    displayed after it: those of an apply that never got to display its record (a killed kernel)."""
    record: dict[str, Any] | None = None
    later: list[dict[str, Any]] = []
    for cell in json.loads(executed.read_text())["cells"]:
        for output in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            data = output.get("data", {})
            if AUDIT_MIME in data:
                record, later = data[AUDIT_MIME], []
            elif BACKUP_MIME in data:
                later.append(data[BACKUP_MIME])
    if later:
        first = later[0]
        record = {**{k: first[k] for k in ("target", "account_id", "region")}, **(record or {})}
        backup = {
            "account_id": first["account_id"],
            "region": first["region"],
            "settings": [b["setting"] for b in later],
        }
        record["backups"] = [*record.get("backups", []), backup]
    return record


def _keep(store: RunStorage, run_id: str, files: dict[str, str]) -> None:
    """Write the run's files and return where; if the storage refuses them, keep them locally and say where, so no
    record is lost."""
    try:
        store.write(run_id, files)
    except RunStorageError as error:
        fallback = LocalRunStorage("runs")
        fallback.write(run_id, files)
        raise EcrlabError(
            f"could not write the run's records to {location(store, run_id)} ({error}); "
            f"they are in {location(fallback, run_id)}/ instead"
        ) from None


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(
    feature: str,
    values: dict[str, Any],
    output: str = "runs",
    run_id: str | None = None,
    plan_out: str | None = None,
) -> dict[str, Any]:
    """Validate, execute the feature's notebook, and write notebook, HTML, audit record and backups under `output`.

    `plan_out` saves the run's plans (what it read and would change) for review; running again with the parameter
    `reviewed_plan` set to that file applies exactly that plan, or refuses when the registry changed since.
    """
    from ecrlab import __version__
    from ecrlab.run_report import notebook_html

    book = runbook(feature)
    params = book.validate(values)
    store = storage(output)
    store.check()  # now: a runbook that applies and then cannot keep its record is worse than one never run
    started = datetime.now(UTC)
    run_id = run_id or f"{started.strftime('%Y%m%dT%H%M%S%fZ')}-{feature}"
    source = notebooks() / book.notebook
    with tempfile.TemporaryDirectory() as tmp:
        executed = Path(tmp) / book.notebook
        result = execute(source, executed, params)
        audit = _audit_from(executed) or {"feature": feature, "parameters": book.redacted(params)}
        if not result.ok:
            audit["outcome"] = "refused" if result.ename == "GuardError" else "failed"
            audit["error"] = result.error
        destination = location(store, run_id)
        record = {
            "run_id": run_id,
            "started_at": started.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
            "seconds": round(result.seconds, 2),
            "notebook": book.notebook,
            "notebook_sha256": _sha256(source),
            "ecrlab_version": __version__,
            **audit,
            "location": destination,
        }
        files = {
            "notebook.ipynb": executed.read_text(),
            "notebook.html": notebook_html(executed),
            "audit.json": json.dumps(record, indent=2, sort_keys=True, default=str),
            # The backups again on their own, next to the record wherever it goes (local or S3).
            "backup.json": json.dumps(record.get("backups", []), indent=2, sort_keys=True, default=str),
        }
    _keep(store, run_id, files)
    if plan_out:
        save_plan(record, params, plan_out)
    return record


def save_plan(record: dict[str, Any], params: dict[str, Any], path: str) -> None:
    """Write a run's plans for review: `ecrlab run --apply --plan FILE` applies them only if nothing changed."""
    from ecrlab.runbook import canonical

    saved = {
        "feature": record["feature"],
        "run_id": record["run_id"],
        "account_id": record.get("account_id"),
        "region": record.get("region"),
        "parameters": {k: v for k, v in params.items() if k not in ("apply", "reviewed_plan")},
        "plans": [canonical(applied["plan"]) for applied in record.get("applies", [])],
    }
    Path(path).write_text(json.dumps(saved, indent=2, sort_keys=True, default=str))


def load_plan(path: str) -> dict[str, Any]:
    """A plan saved by `save_plan`, or `ValidationError` naming the file."""
    try:
        saved = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValidationError("plan", path, f"cannot be read as a saved plan: {error}") from None
    if not isinstance(saved, dict) or not {"feature", "parameters", "plans"} <= set(saved):
        raise ValidationError("plan", path, "is not a plan saved with --plan-out")
    return saved


def records(root: str = "runs") -> list[dict[str, Any]]:
    """Every audit record under a runs folder or an `s3://bucket/prefix` (where `ecrlab run --output` put them),
    oldest first."""
    found = storage(root).records()
    return sorted(found, key=lambda record: (record.get("started_at", ""), record.get("run_id", "")))


def show(run_id: str, root: str = "runs") -> dict[str, Any]:
    """One run's audit record, from a runs folder or an `s3://bucket/prefix`."""
    record = storage(root).record(run_id)
    if record is None:
        raise ValidationError(
            "run_id", run_id, f"no run with this id under {root.rstrip('/')}/ (see `ecrlab runs list`)"
        )
    return record


def rollback(
    record: dict[str, Any],
    *,
    apply: bool = False,
    expected_account_id: str | None = None,
    profile: str | None = None,
    force: bool = False,
) -> list[Any]:
    """Undo exactly what the run changed, newest apply first, keeping what others changed since (a three-way merge
    per setting); `GuardError` where the two collide, unless `force`. Dry-run unless `apply`.

    Works from any state the run ended in: each setting's backup was recorded before its write."""
    import ecrlab
    from ecrlab.plan import restore

    backups = record.get("backups", [])
    if backups and "region" not in record:
        record = {**record, "region": backups[0]["region"]}
    if not backups:
        return []
    if record.get("target") == "aws":
        registry = ecrlab.connect("aws", profile=profile, region=record["region"])
    else:
        registry = ecrlab.connect(region=record["region"])
    return [
        restore(registry, backup, dry_run=not apply, expected_account_id=expected_account_id, force=force)
        for backup in reversed(backups)
    ]


def rollback_run(
    run_id: str,
    root: str = "runs",
    *,
    apply: bool = False,
    expected_account_id: str | None = None,
    profile: str | None = None,
    force: bool = False,
) -> tuple[dict[str, Any], list[Any]]:
    """Roll back a recorded run and, when applied (or refused), keep a record of the rollback next to the run's."""
    from ecrlab import __version__
    from ecrlab.errors import GuardError

    record = show(run_id, root)
    started = datetime.now(UTC)
    results: list[Any] = []
    error = None
    try:
        results = rollback(record, apply=apply, expected_account_id=expected_account_id, profile=profile, force=force)
    except GuardError as refusal:
        error = f"GuardError: {refusal}"
    applied = [change.to_dict() for result in results for change in result.applied]
    outcome = "refused" if error else ("rolled-back" if applied else ("dry-run" if not apply else "no-changes"))
    rollback_id = f"{started.strftime('%Y%m%dT%H%M%S%fZ')}-rollback"
    entry = {
        "run_id": rollback_id,
        "feature": "rollback",
        "rollback_of": run_id,
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "ecrlab_version": __version__,
        "target": record.get("target"),
        "account_id": record.get("account_id"),
        "region": record.get("region"),
        "dry_run": not apply,
        "force": force,
        "applies": [result.to_dict() for result in results],
        "backups": [result.backup for result in results if result.backup],
        "verified": all(result.verified for result in results),
        "outcome": outcome,
        "error": error,
    }
    if results:
        entry["caller"] = _caller(record, profile)  # who rolled back
    if apply or error:
        store = storage(root)
        entry["location"] = location(store, rollback_id)
        files = {
            "audit.json": json.dumps(entry, indent=2, sort_keys=True, default=str),
            "backup.json": json.dumps(entry["backups"], indent=2, sort_keys=True, default=str),
        }
        _keep(store, rollback_id, files)
    return entry, results


def _caller(record: dict[str, Any], profile: str | None) -> str:
    import ecrlab

    if record.get("target") == "aws":
        return ecrlab.connect("aws", profile=profile, region=record["region"]).caller_arn
    return ecrlab.connect(region=record["region"]).caller_arn


def statuses(found: list[dict[str, Any]]) -> dict[str, str]:
    """Each run's outcome as `runs list` shows it: a run a later rollback undid reads `rolled-back by <id>`."""
    shown = {r["run_id"]: str(r.get("outcome")) for r in found}
    for r in found:
        if r.get("rollback_of") in shown and r.get("outcome") == "rolled-back":
            shown[r["rollback_of"]] = f"rolled-back by {r['run_id']}"
    return shown


def demo(output: str = "runs", workers: int = 3) -> tuple[Path, list[dict[str, Any]]]:
    """Every runbook against the embedded emulator into `output/<timestamp>/<feature>/`, reported in order.

    Each notebook's kernel has its own embedded emulator, so `workers` notebooks run side by side safely
    (three keep two cores busy while kernels start).
    """
    from concurrent.futures import ThreadPoolExecutor

    from ecrlab.demo_schedule import estimates, lesson_seconds, start_order

    root = Path(output) / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # Started so the workers finish together (`ecrlab.demo_schedule`); reported in order.
        order = start_order(estimates(list(RUNBOOKS), lesson_seconds()), workers)
        futures = {feature: pool.submit(run, feature, {}, str(root), run_id=feature) for feature in order}
        for feature, book in RUNBOOKS.items():
            record = futures[feature].result()
            results.append(record)
            ok = record.get("outcome") not in ("failed", "refused")
            tail = f"  {record.get('error')}" if not ok else ""
            status = "ok" if ok else "failed"
            print(f"{status:<7}{Path(book.notebook).stem:<40}{record['seconds']:6.1f} s{tail}", flush=True)
    return root, results
