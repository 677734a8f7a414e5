"""`ecrlab app FEATURE`: a feature notebook as a Voilà app, the facilitator's demo screen.

Voilà executes the notebook and shows only Markdown, widgets and results (`--strip_sources`), so the audience
sees the form, the plan and the diagrams, not the code. The page uses the `ecrlab` Voilà template shipped in
`ecrlab/jupyter/`, which needs no network (see its index.html.j2).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import NoReturn

from ecrlab.errors import EcrlabError
from ecrlab.package_data import notebooks
from ecrlab.parameters import runbook

# A Jupyter data directory: Voilà finds templates under <dir>/voila/templates/<name>.
JUPYTER_DATA = Path(__file__).resolve().parent / "jupyter"
MERMAID = JUPYTER_DATA / "voila" / "templates" / "ecrlab" / "static" / "mermaid.min.js"
DEFAULT_PORT = 8866


def unpack_mermaid() -> Path:
    """Mermaid ships gzipped (2.7 MB → 0.8 MB in git) and is unpacked next to the template on first use."""
    import gzip

    packed = MERMAID.with_name(MERMAID.name + ".gz")
    if not MERMAID.exists() or MERMAID.stat().st_mtime < packed.stat().st_mtime:
        try:
            MERMAID.write_bytes(gzip.decompress(packed.read_bytes()))
        except OSError as error:
            raise EcrlabError(f"cannot unpack Mermaid for the app next to {packed}: {error}") from error
    return MERMAID


def voila_command(
    notebook: Path, port: int = DEFAULT_PORT, open_browser: bool = True
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that serve a notebook as an app on 127.0.0.1:PORT."""
    if importlib.util.find_spec("voila") is None:
        raise EcrlabError("ecrlab app needs Voilà, which comes with the lab extra: pip install 'ecrlab[lab]'")
    unpack_mermaid()
    command = [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        "--template=ecrlab",
        "--strip_sources=True",
        "--show_tracebacks=True",  # the facilitator should see why a cell failed, not "run with --debug"
        "--theme=light",
        "--Voila.ip=127.0.0.1",
        f"--port={port}",
    ]
    if not open_browser:
        command.append("--no-browser")
    search = [str(JUPYTER_DATA), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    return command, {**os.environ, "JUPYTER_PATH": os.pathsep.join(search)}


def serve(feature: str, port: int = DEFAULT_PORT, open_browser: bool = True) -> NoReturn:
    """Replace this process with Voilà, so Ctrl-C and SIGTERM reach the server directly."""
    command, env = voila_command(notebooks() / runbook(feature).notebook, port, open_browser)
    print(f"ecrlab app {feature}: http://127.0.0.1:{port}/ (Ctrl-C stops it)", flush=True)
    os.execve(command[0], command, env)
