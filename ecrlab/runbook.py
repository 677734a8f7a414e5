"""Run notebooks headless as runbooks with papermill and report one line per notebook."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunResult:
    notebook: Path
    output: Path
    ok: bool
    seconds: float
    error: str = ""

    def line(self) -> str:
        status = "ok" if self.ok else "failed"
        tail = f"  {self.error}" if self.error else ""
        return f"{status:<7}{self.notebook.stem:<40}{self.seconds:6.1f} s{tail}"


def execute(notebook: Path, output: Path, parameters: dict[str, Any] | None = None) -> RunResult:
    """Execute one notebook with papermill; a failing cell becomes a failed result, not an exception."""
    import papermill

    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters or {},
            progress_bar=False,
            cwd=str(notebook.parent),
            kernel_name="python3",
        )
    except papermill.PapermillExecutionError as error:
        summary = f"cell {error.exec_count}: {error.ename}: {error.evalue}"
        return RunResult(notebook, output, False, time.perf_counter() - start, summary)
    return RunResult(notebook, output, True, time.perf_counter() - start)


def run_directory(
    notebooks: Iterable[Path],
    runs_root: Path,
    parameters: dict[str, Any] | None = None,
) -> tuple[Path, list[RunResult]]:
    """Execute `notebooks` in order into `runs_root/<timestamp>/`, printing a line as each finishes."""
    out_dir = runs_root / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for notebook in notebooks:
        result = execute(notebook, out_dir / notebook.name, parameters)
        print(result.line(), flush=True)
        results.append(result)
    return out_dir, results
