"""The `ecrlab` command: run the demo, serve the emulator, print its fidelity table."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ecrlab import __version__
from ecrlab.errors import EcrlabError, ValidationError
from ecrlab.parameters import RUNBOOKS

if TYPE_CHECKING:
    from ecrlab.run_storage import RunStorage


def _demo(args: argparse.Namespace) -> int:
    from ecrlab.runs import demo

    root, records = demo(args.runs)
    failed = [r for r in records if r.get("outcome") in ("failed", "refused")]
    print(f"{len(records) - len(failed)}/{len(records)} notebooks ok; executed notebooks and audit records in {root}")
    return 1 if failed else 0


def _values(pairs: list[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValidationError("-p", pair, "must be NAME=VALUE")
        values[name] = value
    return values


EXIT_CODES = {"failed": 1, "refused": 3}


def _run(args: argparse.Namespace) -> int:
    from ecrlab.runs import load_plan, run

    values: dict[str, Any] = _values(args.param)
    if args.plan:
        if not args.apply:
            raise ValidationError("--plan", args.plan, "applies a reviewed plan: give --apply with it")
        saved = load_plan(args.plan)
        if saved["feature"] != args.feature:
            raise ValidationError("--plan", args.plan, f"is a plan of the {saved['feature']} runbook")
        if values:
            raise ValidationError("-p", values, "a reviewed plan runs with the parameters it was made with")
        from pathlib import Path

        values = {**saved["parameters"], "reviewed_plan": str(Path(args.plan).resolve())}
    for name in ("target", "profile", "region", "expected_account_id"):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    if args.apply:
        values["apply"] = True
    if args.force:
        values["force"] = True
    record = run(args.feature, values, args.output, plan_out=args.plan_out)
    print(f"run {record['run_id']}: {record.get('outcome')} ({record['location']})")
    for apply_record in record.get("applies", []):
        for change in apply_record["plan"]["changes"]:
            print(f"  {change['action']:<7} {change['kind']}/{change['key']}")
            for part in change.get("parts", []):
                print(f"            {part['action']:<7} {part['label']}")
            if "kept" in change:
                print(f"            kept    {change['kept']} part(s) of others")
    if args.plan_out:
        print(f"  plan saved to {args.plan_out}: apply it with --apply --plan {args.plan_out}")
    if record.get("error"):
        print(f"  {record['error']}")
    return EXIT_CODES.get(record.get("outcome", ""), 0)


def _fleet(args: argparse.Namespace) -> int:
    from ecrlab.fleet import fleet, read_accounts

    values: dict[str, Any] = {**_values(args.param), "target": args.target}
    if args.apply:
        values["apply"] = True
    executor = None
    if args.dask:
        from distributed import Client

        executor = Client(args.dask).get_executor()
    root, report = fleet(
        args.feature,
        read_accounts(args.accounts),
        args.role_name,
        args.regions.split(","),
        values,
        output=args.output,
        executor=executor,
    )
    print(report[["account_id", "region", "outcome", "changes", "applied", "error"]].to_string(index=False))
    print(f"report: {root / 'report.csv'} and {root / 'report.html'}")
    return 1 if report["outcome"].isin(["failed", "refused"]).any() else 0


def _iam_policy(args: argparse.Namespace) -> int:
    from ecrlab.iam_policy import observe, policies

    features = args.feature or list(RUNBOOKS)
    found = policies(observe(features, dry_run_only=args.dry_run and not args.dry_run_out))
    if args.dry_run_out:
        from pathlib import Path

        Path(args.dry_run_out).write_text(json.dumps(found["dry-run"], indent=2) + "\n")
    print(json.dumps(found["dry-run" if args.dry_run else "apply"], indent=2))
    return 0


def _app(args: argparse.Namespace) -> int:
    from ecrlab.app import serve

    serve(args.feature, args.port, open_browser=not args.no_browser, everything=args.all)


def _lab(args: argparse.Namespace) -> int:
    from ecrlab import workspace

    prepared = workspace.prepare(args.dir, reset=args.reset)
    print(f"workspace: {prepared.folder.resolve()}")
    for line in prepared.lines():
        print(f"  {line}")
    if args.no_lab:
        return 0
    workspace.open_lab(prepared.folder, open_browser=not args.no_browser, port=args.port)


def _runs_list(args: argparse.Namespace) -> int:
    from ecrlab.run_storage import storage
    from ecrlab.runs import records, statuses

    found = records(args.runs)
    if not found:
        print(f"no recorded runs under {args.runs.rstrip('/')}/ (ecrlab run and ecrlab demo write them there)")
        return 0
    shown = statuses(found)  # a run a later rollback undid reads "rolled-back by <id>"
    store = storage(args.runs)
    rows = [(_listed_id(record, store), record) for record in found]
    width = max(len("RUN ID"), *(len(run_id) for run_id, _ in rows))
    print(f"{'RUN ID':<{width}} {'TARGET':<9} {'ACCOUNT':<13} {'REGION':<15} OUTCOME")
    for run_id, record in rows:
        print(
            f"{run_id:<{width}} {record.get('target', '?'):<9} {record.get('account_id', '?'):<13} "
            f"{record.get('region', '?'):<15} {shown[record['run_id']]}"
        )
    return 0


def _listed_id(record: dict[str, Any], store: RunStorage) -> str:
    """What `runs show` and `rollback` take for this record: its path under the runs root, or its run id when the
    record was written elsewhere."""
    found = store.run_path(record.get("location", ""))
    return found if found is not None else record["run_id"]


def _runs_show(args: argparse.Namespace) -> int:
    from ecrlab.runs import show

    print(json.dumps(show(args.run_id, args.runs), indent=2, sort_keys=True))
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from ecrlab.runs import rollback_run

    entry, results = rollback_run(
        args.run_id,
        args.runs,
        apply=args.apply,
        expected_account_id=args.expected_account_id,
        profile=args.profile,
        force=args.force,
    )
    for result in results:
        print(result)
    if entry["error"]:
        print(f"ecrlab: refused: {entry['error']}")
    elif not results:
        print("nothing to roll back: the run wrote no setting")
    if entry.get("location"):
        print(f"rollback recorded as {entry['run_id']} ({entry['location']})")
    return 3 if entry["outcome"] == "refused" else 0


def _serve(args: argparse.Namespace) -> int:
    from ecrlab import control_token
    from ecrlab.emulator.clock import Clock
    from ecrlab.emulator.control_plane import is_loopback
    from ecrlab.emulator.server import EmulatorServer

    clock = Clock(frozen_at=datetime.fromisoformat(args.frozen_clock)) if args.frozen_clock else Clock()
    if args.upstream:
        from ecrlab.emulator import upstream_standins

        upstream_standins.map_hosts(args.upstream)
    server = EmulatorServer(
        args.host,
        args.port,
        clock,
        log_requests=args.log_requests,
        data_dir=args.data_dir,
        vulndb=args.vulndb,
        control_token=control_token.for_data_dir(args.data_dir),
        cors_origin=args.cors_origin,
        allow_remote=args.allow_remote,
        fsync=args.fsync,
    )
    if not is_loopback(args.host):
        print(
            f"ecrlab: WARNING: serving on {args.host}, beyond this machine: anyone who can reach it can push, pull "
            "and change the registry with the demo credentials (only the knobs need the control token)",
            file=sys.stderr,
        )

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    # Set both explicitly, before announcing the URL: a parent that ignores SIGINT (nohup, some test runners)
    # would otherwise leak it, and a signal right after the URL must already stop cleanly.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        # The URL first (scripts read one line), then the token in a form a shell can `export`.
        print(server.url, flush=True)
        print(f"{control_token.ENV}={server.control_token}", flush=True)
        if server.persistence is not None:
            print(
                f"registry kept in {args.data_dir} (restored; {server.replayed} journal records replayed); "
                f"control token in {args.data_dir}/{control_token.FILE_NAME}",
                file=sys.stderr,
            )
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    print("emulator stopped", file=sys.stderr)
    return 0


def _coverage(args: argparse.Namespace) -> int:
    from ecrlab.emulator.coverage import coverage, markdown, summary

    rows = coverage()
    if args.markdown:
        print(markdown(rows), end="")
        return 0
    width = max(len(row.operation) for row in rows)
    for row in rows:
        print(f"{row.operation:<{width}}  {row.status:<26}  {row.note}")
    print(summary(rows))
    return 0


def _scan_gate(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    import ecrlab
    from ecrlab import scan_gate, scan_results

    repository, at, digest = args.image.partition("@")
    tag = None
    if not at:
        repository, _, tag = args.image.partition(":")
    if not repository or not (tag or digest):
        raise ValidationError("image", args.image, "must be REPOSITORY:TAG or REPOSITORY@sha256:DIGEST")
    threshold = args.threshold.upper()
    if threshold not in scan_results.SEVERITIES:
        raise ValidationError("--threshold", args.threshold, f"must be one of {', '.join(scan_results.SEVERITIES)}")
    if args.endpoint_url:
        registry = ecrlab.connect(endpoint_url=args.endpoint_url, region=args.region)
    else:
        registry = ecrlab.connect("aws", profile=args.profile, region=args.region)
    try:
        frame = scan_results.findings(registry, repository, tag=tag, digest=digest or None)
    except ClientError as error:  # exit 2, not 1: 1 means "blocked", and an image we cannot read decides nothing
        details = error.response.get("Error", {})
        raise EcrlabError(f"{args.image}: {details.get('Code')}: {details.get('Message')}") from None
    except BotoCoreError as error:
        raise EcrlabError(f"{args.image}: cannot read its findings: {error}") from None
    result = scan_gate.gate(frame, threshold)
    if not result.passed:
        columns = ["id", "severity", "package", "installed", "fixed", "digest"]
        print(result.blocking[columns].to_string(index=False, na_rep="-"))
    print(result)
    return result.exit_code


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="ecrlab", description=__doc__)
    top.add_argument("--version", action="version", version=f"ecrlab {__version__}")
    commands = top.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="execute every notebook headless against the embedded emulator")
    demo.add_argument("--runs", default="runs", help="where executed notebooks go (default: runs)")
    demo.set_defaults(func=_demo)

    run = commands.add_parser("run", help="run one feature's notebook as a runbook (dry-run by default)")
    run.add_argument("feature", help=f"one of: {', '.join(RUNBOOKS)}")
    run.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE", help="a notebook parameter")
    run.add_argument("--target", choices=("emulator", "aws"))
    run.add_argument("--profile")
    run.add_argument("--region")
    run.add_argument("--apply", action="store_true", help="write the changes (needs --expected-account-id on AWS)")
    run.add_argument("--expected-account-id", help="refuse to write unless the credentials reach this account")
    run.add_argument(
        "--force", action="store_true", help="apply what the runbook's own guard refuses (permissions: a lockout)"
    )
    run.add_argument("--output", default="runs", help="local folder or s3://bucket/prefix (default: runs)")
    run.add_argument("--plan-out", metavar="FILE", help="save the plan for review (use with a dry run)")
    run.add_argument(
        "--plan",
        metavar="FILE",
        help="with --apply: apply this reviewed plan, refused (exit 3) if the registry changed",
    )
    run.set_defaults(func=_run)

    fleet = commands.add_parser("fleet", help="run a runbook in many accounts and regions by assuming a role")
    fleet.add_argument("feature", help=f"one of: {', '.join(RUNBOOKS)}")
    fleet.add_argument("--accounts", required=True, help="file with one account id per line")
    fleet.add_argument("--role-name", required=True, help="role to assume in each account")
    fleet.add_argument("--regions", default="us-east-1", help="comma-separated regions (default: us-east-1)")
    fleet.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE")
    fleet.add_argument("--target", choices=("emulator", "aws"), default="aws")
    fleet.add_argument("--apply", action="store_true", help="write (each account is its own expected account)")
    fleet.add_argument("--dask", metavar="SCHEDULER", help="run on this Dask scheduler instead of local threads")
    fleet.add_argument("--output", default="runs", help="local folder for the records and report (default: runs)")
    fleet.set_defaults(func=_fleet)

    iam = commands.add_parser("iam-policy", help="the least-privilege IAM policy the runbooks need (from real calls)")
    iam.add_argument("feature", nargs="*", help="runbooks to include (default: all)")
    iam.add_argument("--dry-run", action="store_true", help="only what a dry run needs (read-only)")
    iam.add_argument("--dry-run-out", metavar="FILE", help="also write the dry-run policy to FILE")
    iam.set_defaults(func=_iam_policy)

    gate = commands.add_parser(
        "scan-gate",
        help="fail (exit 1) when an image's scan findings reach a severity; for CI after the push (exit 2: the image "
        "or its finished scan cannot be read)",
    )
    gate.add_argument("image", help="REPOSITORY:TAG or REPOSITORY@sha256:DIGEST")
    gate.add_argument("--threshold", default="HIGH", help="block at this severity and above, any case (default: HIGH)")
    gate.add_argument("--profile", help="AWS profile (the default credential chain otherwise; AWS_ENDPOINT_URL works)")
    gate.add_argument("--region")
    gate.add_argument("--endpoint-url", help="an `ecrlab emulator serve` URL instead of AWS")
    gate.set_defaults(func=_scan_gate)

    app = commands.add_parser("app", help="serve a feature notebook as a Voilà app: widgets and results, no code")
    app.add_argument("feature", help=f"one of: {', '.join(RUNBOOKS)}")
    app.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default: 8866)")
    app.add_argument("--no-browser", action="store_true", help="do not open a browser")
    app.add_argument(
        "--all",
        action="store_true",
        help="show every cell; without it the presenter view leaves out exercises and the runbook section",
    )
    app.set_defaults(func=_app)

    lab = commands.add_parser(
        "lab", help="copy the lessons into a workspace folder of your own and open JupyterLab there (needs [lab])"
    )
    lab.add_argument("dir", nargs="?", default="ecrlab-workshop", help="the workspace (default: ./ecrlab-workshop)")
    lab.add_argument(
        "--reset", "--force", action="store_true", help="replace lessons you changed with fresh copies (edits are lost)"
    )
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")
    lab.add_argument("--port", type=int, help="JupyterLab's port (default: Jupyter's, 8888 or the next free one)")
    lab.add_argument("--no-lab", action="store_true", help="only prepare the workspace; do not start JupyterLab")
    lab.set_defaults(func=_lab)

    runs = commands.add_parser("runs", help="recorded runs")
    runs.add_argument("--runs", default="runs", help="the runs folder or s3://bucket/prefix (default: runs)")
    runs_commands = runs.add_subparsers(dest="runs_command", required=True)
    runs_commands.add_parser("list", help="one line per recorded run").set_defaults(func=_runs_list)
    show = runs_commands.add_parser("show", help="a run's audit record")
    show.add_argument("run_id")
    show.set_defaults(func=_runs_show)

    rollback = commands.add_parser("rollback", help="restore what a run overwrote (dry-run by default)")
    rollback.add_argument("run_id")
    rollback.add_argument("--runs", default="runs", help="the runs folder or s3://bucket/prefix (default: runs)")
    rollback.add_argument("--apply", action="store_true")
    rollback.add_argument("--expected-account-id")
    rollback.add_argument("--profile")
    rollback.add_argument(
        "--force", action="store_true", help="also undo parts someone changed since the run (their change is lost)"
    )
    rollback.set_defaults(func=_rollback)

    emulator = commands.add_parser("emulator", help="the local ECR emulator")
    emulator_commands = emulator.add_subparsers(dest="emulator_command", required=True)
    serve = emulator_commands.add_parser("serve", help="serve the emulator over HTTP (prints its URL first)")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    serve.add_argument(
        "--allow-remote", action="store_true", help="allow a --host reachable from other machines (prints a warning)"
    )
    serve.add_argument(
        "--cors-origin", metavar="ORIGIN", help="let this one web origin call the API from a browser (default: none)"
    )
    serve.add_argument("--port", type=int, default=5000, help="port (default: 5000; 0 picks a free one)")
    serve.add_argument("--frozen-clock", metavar="ISO_TIME", help="freeze the clock at this time")
    serve.add_argument("--log-requests", action="store_true", help="log every request to stderr")
    serve.add_argument(
        "--data-dir",
        metavar="DIR",
        help="keep the whole registry (state, blobs, control token) here across restarts (default: in memory)",
    )
    serve.add_argument(
        "--fsync",
        action="store_true",
        help="with --data-dir, fsync each change before answering: survives power loss, not only crashes (slower)",
    )
    serve.add_argument(
        "--vulndb", metavar="PATH", help="OSV feed for the scanner: folder, JSON file or all.zip (default: data/vulndb)"
    )
    serve.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="HOST=URL",
        help="reach pull-through-cache upstream HOST at the registry URL (repeatable; default: built-in stand-ins)",
    )
    serve.set_defaults(func=_serve)
    cov = emulator_commands.add_parser("coverage", help="every ECR operation and how the emulator answers it")
    cov.add_argument("--markdown", action="store_true", help="print the docs table")
    cov.set_defaults(func=_coverage)
    return top


def _skip_iri_grammar() -> None:
    """papermill imports nbformat, which imports jsonschema, whose optional `iri` format check builds a Lark
    grammar on import (rfc3987_syntax: ~1.3 s, a fifth of the CPU `ecrlab demo` spends outside its kernels).
    Notebook schemas use no formats and nothing this process validates needs one, so the command does without
    it: a None entry in sys.modules makes that import fail, and jsonschema leaves the format unchecked."""
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # a None entry is how sys.modules blocks an import


def main(argv: list[str] | None = None) -> int:
    _skip_iri_grammar()
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except EcrlabError as error:
        print(f"ecrlab: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader left (`ecrlab emulator coverage | head`): stop quietly. Python would report the pipe again
        # when it flushes stdout at exit, so stdout goes to /dev/null first (as the Python docs advise).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
