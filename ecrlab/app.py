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

# The template as shipped: a Jupyter data directory (Voilà finds templates under <dir>/voila/templates/<name>).
TEMPLATE_SOURCE = Path(__file__).resolve().parent / "jupyter"
MERMAID_PATH = Path("voila") / "templates" / "ecrlab" / "static" / "mermaid.min.js"
DEFAULT_PORT = 8866
# Cell tags (cell metadata) of what a presenter's screen leaves out: exercises are for learners to try at their own
# desk, and the runbook section runs the notebook against an account, which would change the state shown above.
PRESENTER_HIDES = ("learner", "runbook")


def jupyter_data() -> Path:
    """The template with Mermaid unpacked, in the user's cache (`$XDG_CACHE_HOME/ecrlab`, else `~/.cache/ecrlab`).

    Mermaid ships gzipped (2.7 MB -> 0.8 MB). It is unpacked outside the installed package, which may be read-only
    (a system or shared venv), once per content of the shipped template (an edited template gets a fresh copy);
    a half-written copy is never used (built aside, then renamed).
    """
    import gzip
    import hashlib
    import shutil
    import tempfile

    digest = hashlib.sha256()
    for path in sorted(p for p in TEMPLATE_SOURCE.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(TEMPLATE_SOURCE)).encode() + b"\0" + path.read_bytes())
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ecrlab"
    ready = cache / f"jupyter-{digest.hexdigest()[:16]}"
    if (ready / MERMAID_PATH).is_file():
        return ready
    try:
        cache.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix="jupyter-", dir=cache))
        shutil.copytree(TEMPLATE_SOURCE, building, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.gz"))
        packed = TEMPLATE_SOURCE / MERMAID_PATH.with_name(MERMAID_PATH.name + ".gz")
        (building / MERMAID_PATH).write_bytes(gzip.decompress(packed.read_bytes()))
        try:
            building.rename(ready)
        except OSError:  # another app unpacked it first
            shutil.rmtree(building, ignore_errors=True)
    except OSError as error:
        raise EcrlabError(f"cannot unpack the app's template into {cache}: {error}") from error
    return ready


def voila_command(
    notebook: Path, port: int = DEFAULT_PORT, open_browser: bool = True, everything: bool = True
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that serve a notebook as an app on 127.0.0.1:PORT.

    Without `everything` it is the presenter view: nbconvert's TagRemovePreprocessor, which Voilà runs before it
    executes the notebook, drops the cells tagged `learner` or `runbook`, so they are neither run nor shown.
    """
    if importlib.util.find_spec("voila") is None:
        raise EcrlabError("ecrlab app needs Voilà, which comes with the lab extra: pip install 'ecrlab[lab]'")
    data = jupyter_data()
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
    if not everything:
        # One flag per tag: traitlets reads a repeated flag as a list; "[...]" would be taken as one tag.
        command += ["--TagRemovePreprocessor.enabled=True"]
        command += [f"--TagRemovePreprocessor.remove_cell_tags={tag}" for tag in PRESENTER_HIDES]
    if not open_browser:
        command.append("--no-browser")
    search = [str(data), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    return command, {**os.environ, "JUPYTER_PATH": os.pathsep.join(search)}


def serve(feature: str, port: int = DEFAULT_PORT, open_browser: bool = True, everything: bool = False) -> NoReturn:
    """Replace this process with Voilà, so Ctrl-C and SIGTERM reach the server directly."""
    command, env = voila_command(notebooks() / runbook(feature).notebook, port, open_browser, everything)
    view = "every cell" if everything else "presenter view: no exercises or runbook section; --all shows them"
    print(f"ecrlab app {feature} ({view}): http://127.0.0.1:{port}/ (Ctrl-C stops it)", flush=True)
    os.execve(command[0], command, env)
