"""Run one runbook across many accounts and regions, through any `concurrent.futures` executor.

Each account is reached by assuming `role_name` in it (the runbook's `assume_role_arn` parameter), and
`expected_account_id` is set to that account, so a role that lands elsewhere is refused before writing.
Threads are the default; a Dask cluster (`distributed.Client.get_executor()`) spreads the same calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecrlab.errors import EcrlabError, ValidationError
from ecrlab.parameters import Parameter
from ecrlab.runs import run

if TYPE_CHECKING:
    import pandas as pd

REPORT_COLUMNS = ["account_id", "region", "run_id", "outcome", "changes", "applied", "verified", "caller", "error"]
_ACCOUNT = Parameter("accounts", "account_id", None, "")


def read_accounts(path: str | Path) -> list[str]:
    """Account ids from a file: one per line or the first CSV column; blank lines and # comments skipped."""
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ValidationError(
            "accounts", str(path), f"cannot be read: {getattr(error, 'strerror', None) or error}"
        ) from None
    accounts = []
    for number, line in enumerate(lines, start=1):
        value = line.split("#", 1)[0].split(",", 1)[0].strip()
        if not value or value == "account_id":
            continue
        try:
            accounts.append(_ACCOUNT.coerce(value))
        except ValidationError as error:
            raise ValidationError(f"accounts line {number}", value, error.rule) from None
    if not accounts:
        raise ValidationError("accounts", str(path), "lists no account id")
    return accounts


def _row(account: str, region: str, record: dict[str, Any]) -> dict[str, Any]:
    applies = record.get("applies", [])
    return {
        "account_id": account,
        "region": region,
        "run_id": record.get("run_id"),
        "outcome": record.get("outcome"),
        "changes": sum(len(a["plan"]["changes"]) for a in applies),
        "applied": sum(len(a["applied"]) for a in applies),
        "verified": record.get("verified"),
        "caller": record.get("caller"),
        "error": record.get("error"),
    }


def fleet(
    feature: str,
    accounts: Sequence[str],
    role_name: str,
    regions: Iterable[str],
    values: dict[str, Any] | None = None,
    *,
    output: str = "runs",
    executor: Executor | None = None,
    progress: bool = True,
) -> tuple[Path, pd.DataFrame]:
    """Run `feature` for every account × region; returns the report folder and the combined report."""
    import pandas as pd
    from tqdm.auto import tqdm

    root = Path(output) / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-fleet-{feature}"
    jobs = [(account, region) for account in accounts for region in regions]
    pool = executor or ThreadPoolExecutor(max_workers=min(4, len(jobs)))
    rows = []
    try:
        futures = {
            pool.submit(
                run,
                feature,
                {
                    **(values or {}),
                    "region": region,
                    "expected_account_id": account,
                    "assume_role_arn": f"arn:aws:iam::{account}:role/{role_name}",
                },
                str(root),
                f"{account}-{region}",
            ): (account, region)
            for account, region in jobs
        }
        for future in tqdm(as_completed(futures), total=len(futures), desc=f"fleet {feature}", disable=not progress):
            account, region = futures[future]
            try:
                rows.append(_row(account, region, future.result()))
            except EcrlabError as error:
                rows.append(_row(account, region, {"outcome": "failed", "error": str(error)}))
    finally:
        if executor is None:
            pool.shutdown()
    report = pd.DataFrame(rows, columns=REPORT_COLUMNS).sort_values(["account_id", "region"], ignore_index=True)
    root.mkdir(parents=True, exist_ok=True)
    report.to_csv(root / "report.csv", index=False)
    (root / "report.html").write_text(report.to_html(index=False))
    return root, report
