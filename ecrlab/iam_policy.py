"""The least-privilege IAM policy a runbook needs, generated from the calls it really makes.

With `ECRLAB_RECORD_CALLS=FILE` set, every boto3 call made through a `Registry` appends its IAM action to
FILE. `generate()` runs runbooks against a private emulator with recording on and folds the actions into
one policy, so the README's policy cannot drift from the code.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

RECORD_ENV = "ECRLAB_RECORD_CALLS"


def record_calls(client: Any) -> None:
    """Append `service:Operation` to $ECRLAB_RECORD_CALLS before each call of `client` (when it is set)."""
    path = os.environ.get(RECORD_ENV)
    if not path:
        return

    def record(model: Any, **_: Any) -> None:
        prefix = model.service_model.signing_name
        with open(path, "a") as handle:
            handle.write(f"{prefix}:{model.name}\n")

    client.meta.events.register("before-call", record)


def least_privilege(actions: Iterable[str]) -> dict[str, Any]:
    """One Allow statement per service, actions sorted, so the policy diffs cleanly."""
    by_service: dict[str, set[str]] = {}
    for action in actions:
        service = action.split(":", 1)[0]
        by_service.setdefault(service, set()).add(action)
    statements = [
        {
            "Sid": f"Runbooks{service.title().replace('-', '')}",
            "Effect": "Allow",
            "Action": sorted(names),
            "Resource": "*",
        }
        for service, names in sorted(by_service.items())
    ]
    return {"Version": "2012-10-17", "Statement": statements}


# What a runbook makes in a real account only when asked (a lesson repository, an alert's queue and rule): the
# policy covers those runs too, so asking for them never needs another policy.
OPT_IN: dict[str, dict[str, object]] = {
    "start-here": {"demo_repository": True},
    "scanning": {"alert_target": "sqs"},
    "baseline": {"alert_target": "sqs"},
}


def generate(features: Iterable[str], *, apply: bool = True) -> dict[str, Any]:
    """Run each runbook (as an apply, or a dry run) against a private emulator and return the policy."""
    from ecrlab.emulator.server import EmulatorServer
    from ecrlab.registry import DEMO_ACCOUNT_ID
    from ecrlab.runs import run

    server = EmulatorServer().start()
    saved = {
        name: os.environ.get(name)
        for name in (RECORD_ENV, "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE")
    }
    with tempfile.TemporaryDirectory() as tmp:
        calls = Path(tmp) / "calls.txt"
        os.environ.update(
            {
                RECORD_ENV: str(calls),
                "AWS_ENDPOINT_URL": server.url,
                "AWS_ACCESS_KEY_ID": "AKIAIAMPOLICY0000000",
                "AWS_SECRET_ACCESS_KEY": "x",
            }
        )
        os.environ.pop("AWS_PROFILE", None)
        try:
            for feature in features:
                values = {"target": "aws", "apply": apply, "expected_account_id": DEMO_ACCOUNT_ID if apply else None}
                values.update(OPT_IN.get(feature, {}))
                record = run(feature, values, str(Path(tmp) / "runs"))
                if record.get("outcome") in ("failed", "refused"):
                    raise RuntimeError(f"runbook {feature} {record['outcome']}: {record.get('error')}")
            actions = calls.read_text().split() if calls.exists() else []
        finally:
            server.stop()
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    return least_privilege(actions)
