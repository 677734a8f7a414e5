"""What the browser tests drive: Debian's Chromium through Playwright, JupyterLab and `ecrlab app` (Voilà).

Everything runs on loopback with no network: Chromium's background services are off and every request that
leaves 127.0.0.1 is aborted and recorded, so a page that needs a CDN shows up as a failure, as it would on an
offline workshop laptop. Servers get throw-away Jupyter config, data, runtime and settings directories, and
JupyterLab's autosave is off, so running notebooks in the browser never rewrites the committed ones.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.forms import FormCase

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page, Route

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling Google's services, which a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAB_SETTINGS = {
    # Never write the repository's notebooks back from the browser.
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    # Render every cell, so diagrams far down a notebook exist in the DOM without scrolling.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}
SERVER_START_SECONDS = 60
RUN_SECONDS = 240
CALL_SECONDS = 60  # one Plan or Apply click: reads, writes and verification against the emulator in the kernel


def feature_notebooks() -> list[Path]:
    """Every feature notebook that exists now; the browser tests grow as notebooks land."""
    return sorted((ROOT / "notebooks").glob("0[1-57-9]_*.ipynb"))  # 06, the baseline, has no form


def feature_of(notebook: Path) -> str:
    """The `ecrlab app` / `ecrlab run` name of a notebook."""
    from ecrlab.parameters import RUNBOOKS

    features = {book.notebook: feature for feature, book in RUNBOOKS.items()}
    assert notebook.name in features, f"{notebook.name} is not in ecrlab.parameters.RUNBOOKS"
    return features[notebook.name]


def unavailable() -> str | None:
    """Why the browser tests cannot run here (no Playwright package, no Chromium), or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not Path(CHROMIUM).exists():
        return f"Chromium is not installed at {CHROMIUM} (as root, `make system-deps` installs Debian's chromium)"
    return None


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless; skipped with the reason printed when unavailable and not root.

    As root (CI) `make test` installs Chromium first, so a missing browser there is a failure, not a skip.
    """
    reason = unavailable()
    if reason and os.geteuid() == 0:
        pytest.fail(f"{reason}; as root the suite expects it installed (make system-deps)")
    if reason:
        print(f"\nskipping the browser tests: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class OfflinePage:
    """A page whose requests beyond loopback are aborted; `blocked` lists them, `errors` the page's JS errors."""

    page: Page
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def offline_page(browser: Browser, height: int = 900, width: int = 1280) -> OfflinePage:
    """A fresh context and page; JupyterLab tests ask for a tall one so a whole form fits in one screenshot."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    result = OfflinePage(page)

    def route(route_: Route) -> None:
        url = route_.request.url
        if re.match(r"^(https?|wss?)://(127\.0\.0\.1|localhost)[:/]", url) or url.startswith("data:"):
            route_.continue_()
        else:
            result.blocked.append(url)
            route_.abort()

    context.route("**/*", route)
    page.on("pageerror", lambda error: result.errors.append(str(error)))
    return result


def screenshot(target: Page | Locator, name: str) -> None:
    """Save `name`.png under test-artifacts/screenshots/ (a page: its viewport; a locator: that element)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


@dataclass(frozen=True)
class Server:
    base: str  # http://127.0.0.1:PORT/
    log: Path
    token: str = ""

    def href(self, path: str = "") -> str:
        """The address of `path` on this server, with the token when it has one."""
        separator = "&" if "?" in path else "?"
        return f"{self.base}{path}{separator}token={self.token}" if self.token else f"{self.base}{path}"


def _jupyter_env(home: Path) -> dict[str, str]:
    """The environment of a server isolated from the user's Jupyter and AWS settings.

    Kernels talk over Unix sockets, not TCP: with TCP a kernel's ports are chosen, released and bound again, and on
    a busy machine another process can take one in between ("Address already in use"). Socket paths must stay
    under ~100 characters, so the runtime directory is a short one in /tmp (removed by `_cleanup`).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "JUPYTER_"))}
    for name in ("config", "data", "ipython"):
        (home / name).mkdir(parents=True, exist_ok=True)
    ipc = json.dumps({"KernelManager": {"transport": "ipc"}})
    for config in ("jupyter_server_config.json", "voila.json"):
        (home / "config" / config).write_text(ipc)
    env.update(
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=tempfile.mkdtemp(prefix="ecrlab-rt-"),
        JUPYTER_PLATFORM_DIRS="1",
        IPYTHONDIR=str(home / "ipython"),
        PYTHONUNBUFFERED="1",
    )
    return env


def _cleanup(process: subprocess.Popen[bytes], env: dict[str, str]) -> None:
    _stop(process)
    shutil.rmtree(env["JUPYTER_RUNTIME_DIR"], ignore_errors=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server did not listen on {port} within {SERVER_START_SECONDS}s:\n{log.read_text()[-3000:]}")


@contextmanager
def jupyterlab(home: Path) -> Iterator[Server]:
    """JupyterLab serving the repository on a free loopback port, with a token and the app exposed to tests."""
    env = _jupyter_env(home)
    settings = home / "settings"
    for plugin, values in LAB_SETTINGS.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    token = secrets.token_hex(16)
    log = home / "jupyterlab.log"
    command = [
        str(BIN / "jupyter"),
        "lab",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        "--port=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={ROOT}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run commands and read cell models
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
        "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        info = Path(env["JUPYTER_RUNTIME_DIR"]) / f"jpserver-{process.pid}.json"
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not info.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        port = json.loads(info.read_text())["port"]
        _wait_for_port(port, process, log)
        yield Server(f"http://127.0.0.1:{port}/", log, token)
    finally:
        _cleanup(process, env)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _serving(command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[Server]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process, log)
        yield Server(f"http://127.0.0.1:{port}/", log)
    finally:
        _cleanup(process, env)


def voila_app(feature: str, home: Path, everything: bool = False) -> AbstractContextManager[Server]:
    """`ecrlab app FEATURE` on a free loopback port: the facilitator's demo screen, as they start it (the presenter
    view; `everything` adds `--all`)."""
    port = _free_port()
    command = [str(BIN / "ecrlab"), "app", feature, f"--port={port}", "--no-browser"]
    command += ["--all"] if everything else []
    return _serving(command, _jupyter_env(home), port, home / f"voila-{feature}.log")


def voila_notebook(notebook: Path, home: Path) -> AbstractContextManager[Server]:
    """Any notebook served the way `ecrlab app` serves a feature (same template, same options)."""
    from ecrlab.app import voila_command

    port = _free_port()
    command, env = voila_command(notebook, port, open_browser=False)
    isolated = {**_jupyter_env(home), "JUPYTER_PATH": env["JUPYTER_PATH"]}
    return _serving(command, isolated, port, home / f"voila-{notebook.stem}.log")


# --- JupyterLab: open a notebook, Run All, wait for idle, read errors from the cell models ---------------------

_NOTEBOOK_READY = """() => {
  const widget = window.jupyterapp?.shell.currentWidget;
  const kernel = widget?.sessionContext?.session?.kernel;
  return !!kernel && widget.context.isReady && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""
_RUN_ALL = """() => {
  window.ecrlabRunAll = undefined;
  window.jupyterapp.commands.execute('notebook:run-all-cells').then(
    ok => { window.ecrlabRunAll = ok ? 'ok' : 'failed'; },
    error => { window.ecrlabRunAll = String(error); });
}"""
_RESTART_RUN_ALL = """() => {
  window.ecrlabRunAll = undefined;
  window.jupyterapp.commands.execute('notebook:restart-run-all').then(
    ok => { window.ecrlabRunAll = ok ? 'ok' : 'failed'; },
    error => { window.ecrlabRunAll = String(error); });
}"""
_IDLE_AFTER_RUN = """() => window.ecrlabRunAll !== undefined
  && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'"""
_CELL_ERRORS = """() => {
  const errors = [];
  window.jupyterapp.shell.currentWidget.content.widgets.forEach((cell, index) => {
    if (cell.model.type !== 'code') return;
    for (let i = 0; i < cell.model.outputs.length; i++) {
      const output = cell.model.outputs.get(i).toJSON();
      if (output.output_type === 'error') errors.push(`cell ${index}: ${output.ename}: ${output.evalue}`);
    }
  });
  return errors;
}"""
_SHUTDOWN = "() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()"


def open_in_lab(page: Page, lab: Server, notebook: Path) -> None:
    """Open a notebook in a fresh workspace and wait until its kernel is connected and idle."""
    workspace = secrets.token_hex(4)
    page.goto(lab.href(f"lab/workspaces/{workspace}/tree/{notebook.relative_to(ROOT).as_posix()}?reset"))
    page.wait_for_function(_NOTEBOOK_READY, timeout=SERVER_START_SECONDS * 1000)


def run_all_in_lab(page: Page) -> list[str]:
    """Run > Run All Cells, wait for the kernel to be idle again, and return the error outputs (if any)."""
    page.evaluate(_RUN_ALL)
    page.wait_for_function(_IDLE_AFTER_RUN, timeout=RUN_SECONDS * 1000, polling=250)
    return page.evaluate(_CELL_ERRORS)


def restart_and_run_all_in_lab(page: Page) -> list[str]:
    """Kernel > Restart Kernel and Run All Cells…, confirmed in its dialog as a learner does; returns the error
    outputs (if any) once the kernel is idle again."""
    page.evaluate(_RESTART_RUN_ALL)
    page.locator(".jp-Dialog .jp-mod-accept").click(timeout=SERVER_START_SECONDS * 1000)
    page.wait_for_function(_IDLE_AFTER_RUN, timeout=RUN_SECONDS * 1000, polling=250)
    return page.evaluate(_CELL_ERRORS)


def shown_errors(page: Page) -> list[str]:
    """Tracebacks and stderr the page shows under any cell (what a learner sees in red), beyond the cell models."""
    texts = page.locator(
        ".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr'], .jp-RenderedText.jp-mod-error"
    ).all_inner_texts()
    return [text[:400] for text in texts]


def shut_down_kernel(page: Page) -> None:
    page.evaluate(_SHUTDOWN)


# --- Voilà: wait for the executed page ---------------------------------------------------------------------------

_VOILA_ERROR = re.compile(r"There was an error when executing cell|Traceback \(most recent call last\)|\w+Error: ")


def wait_for_voila(page: Page, app: Server) -> None:
    """Load the app (Voilà executes the notebook on request) and wait until widgets have rendered."""
    page.goto(app.href(), timeout=RUN_SECONDS * 1000, wait_until="domcontentloaded")
    page.wait_for_selector("#rendered_cells", state="visible", timeout=RUN_SECONDS * 1000)
    page.wait_for_selector(".ecrlab-form", state="visible", timeout=SERVER_START_SECONDS * 1000)


def voila_errors(page: Page) -> list[str]:
    """Error outputs the app shows (Voilà renders them as stderr / error outputs)."""
    texts = page.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], .jp-RenderedText.jp-mod-error"
    ).all_inner_texts()
    return [text[:400] for text in texts if _VOILA_ERROR.search(text)]


# --- Both: diagrams and the main form ------------------------------------------------------------------------------


def expected_diagrams(notebook: Path, *, presenter: bool = False) -> int:
    """Mermaid fences in the notebook's Markdown cells and committed Markdown outputs (each must draw); the
    presenter view (`ecrlab app`) leaves out the cells tagged for learners and runbooks, and their diagrams."""
    count = 0
    for cell in json.loads(notebook.read_text())["cells"]:
        if presenter and {"learner", "runbook"} & set(cell.get("metadata", {}).get("tags", [])):
            continue
        if cell["cell_type"] == "markdown":
            count += "".join(cell["source"]).count("```mermaid")
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            count += "".join(data.get("text/markdown", "")).count("```mermaid")
            count += "text/vnd.mermaid" in data
    return count


_DRAWN = ".jp-RenderedMermaid svg, .jp-RenderedMermaid img[src^='data:image/svg+xml']"


def diagrams(page: Page, expected: int, name: str) -> None:
    """Wait until at least `expected` diagrams are SVG and none failed to parse; screenshot the first."""
    if not expected:
        return
    page.wait_for_function(
        f'document.querySelectorAll("{_DRAWN}").length >= {expected}', timeout=SERVER_START_SECONDS * 1000
    )
    broken = page.locator(".jp-RenderedMermaid.jp-mod-warning").all_inner_texts()
    assert not broken, f"Mermaid could not draw: {broken}"
    screenshot(page.locator(".jp-RenderedMermaid").first, f"{name}-diagram")


INVALID_COLOUR = "rgb(198, 40, 40)"  # ecrlab.widgets.form.INVALID_BORDER


def set_value(field_: Locator, value: str) -> None:
    """Type into a field's text box, or pick the option with that label from its drop-down."""
    control = field_.locator("input, textarea, select").first
    if control.evaluate("e => e.tagName") == "SELECT":
        control.select_option(label=value)
    else:
        control.fill(value)


def exercise_form(page: Page, case: FormCase, name: str) -> None:
    """Bad value → one-line error at the field; good value → Plan shows a table; Apply → the applied result."""
    from playwright.sync_api import expect

    field_ = page.locator(f".ecrlab-field-{case.field}").first
    form = page.locator(".ecrlab-form", has=field_).last
    error = form.locator(f".ecrlab-error-{case.field}")
    result = form.locator(".ecrlab-result")
    plan, apply = form.locator(".ecrlab-plan"), form.locator(".ecrlab-apply")

    for other, value in case.first:
        set_value(form.locator(f".ecrlab-field-{other}"), value)
    set_value(field_, case.bad)
    plan.click()
    expect(error).to_contain_text(case.error or re.compile(r"\S"), timeout=CALL_SECONDS * 1000)
    message = error.inner_text()
    assert "\n" not in message.strip() and len(message) < 400, f"error is not one readable line: {message!r}"
    expect(field_).to_have_css("border-top-color", INVALID_COLOUR)  # the field itself is highlighted
    expect(apply).to_be_disabled()
    screenshot(form, f"{name}-2-error")

    set_value(field_, case.good)
    plan.click()
    expect(result.locator("table")).to_be_visible(timeout=CALL_SECONDS * 1000)
    expect(error).to_have_text("")
    expect(apply).to_be_enabled()
    screenshot(form, f"{name}-3-plan")

    apply.click()
    expect(result).to_contain_text(re.compile(r"Applied \d+ change"), timeout=CALL_SECONDS * 1000)
    expect(apply).to_be_disabled()
    screenshot(form, f"{name}-4-applied")
