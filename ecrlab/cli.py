"""The `ecrlab` command: run the demo, serve the emulator, print its fidelity table."""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from ecrlab import __version__


def _demo(args: argparse.Namespace) -> int:
    from ecrlab.runbook import run_directory

    notebooks = sorted(Path(args.notebooks).glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        print(f"no notebooks found in {args.notebooks}", file=sys.stderr)
        return 2
    out_dir, results = run_directory(notebooks, Path(args.runs))
    failed = [r for r in results if not r.ok]
    print(f"{len(results) - len(failed)}/{len(results)} notebooks ok; executed notebooks in {out_dir}")
    return 1 if failed else 0


def _serve(args: argparse.Namespace) -> int:
    from ecrlab.emulator.clock import Clock
    from ecrlab.emulator.server import EmulatorServer

    clock = Clock(frozen_at=datetime.fromisoformat(args.frozen_clock)) if args.frozen_clock else Clock()
    server = EmulatorServer(args.host, args.port, clock, log_requests=args.log_requests)
    print(server.url, flush=True)

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    # Set both explicitly: a parent that ignores SIGINT (nohup, some test runners) would otherwise leak it.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    print("emulator stopped", file=sys.stderr)
    return 0


def _coverage(args: argparse.Namespace) -> int:
    from ecrlab.emulator.coverage import counts, coverage, markdown

    rows = coverage()
    if args.markdown:
        print(markdown(rows), end="")
        return 0
    width = max(len(row.operation) for row in rows)
    for row in rows:
        print(f"{row.operation:<{width}}  {row.status:<26}  {row.note}")
    print(", ".join(f"{status}: {count}" for status, count in counts(rows).items()))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="ecrlab", description=__doc__)
    top.add_argument("--version", action="version", version=f"ecrlab {__version__}")
    commands = top.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="execute every notebook headless against the embedded emulator")
    demo.add_argument("--notebooks", default="notebooks", help="folder of notebooks (default: notebooks)")
    demo.add_argument("--runs", default="runs", help="where executed notebooks go (default: runs)")
    demo.set_defaults(func=_demo)

    emulator = commands.add_parser("emulator", help="the local ECR emulator")
    emulator_commands = emulator.add_subparsers(dest="emulator_command", required=True)
    serve = emulator_commands.add_parser("serve", help="serve the emulator over HTTP (prints its URL first)")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    serve.add_argument("--port", type=int, default=5000, help="port (default: 5000; 0 picks a free one)")
    serve.add_argument("--frozen-clock", metavar="ISO_TIME", help="freeze the clock at this time")
    serve.add_argument("--log-requests", action="store_true", help="log every request to stderr")
    serve.set_defaults(func=_serve)
    cov = emulator_commands.add_parser("coverage", help="every ECR operation and how the emulator answers it")
    cov.add_argument("--markdown", action="store_true", help="print the docs table")
    cov.set_defaults(func=_coverage)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
