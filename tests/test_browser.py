"""JupyterLab in headless Chromium: the Playground works in a real page, not only headless.

Starts ``jupyter lab`` on 127.0.0.1 (free port, no token) in a temporary directory holding a
copy of notebooks/playground_smoke.ipynb, opens it with Debian's chromium through playwright,
runs all cells, picks the notebook's custom model in the rendered "model" dropdown, clicks
Train and checks that the shape labels changed and the curve image was redrawn. Screenshots
go to artifacts/browser/. The server (and its kernel) is shut down even when a step fails.

Needs: ``apt-get install chromium`` and ``pip install playwright`` (scripts/test.sh does both;
``playwright install`` cannot download browsers here and is not needed).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "playground_smoke.ipynb"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "artifacts" / "browser"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


def _wait_for_server(base: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited early:\n{log.read_text()[-3000:]}")
        try:
            _get(f"{base}/api/status")
            return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"jupyter lab did not answer at {base}:\n{log.read_text()[-3000:]}")


def _shutdown(base: str, proc: subprocess.Popen) -> None:
    """Shut the kernels down through the API, then stop the server's process group."""
    try:
        for kernel in json.loads(_get(f"{base}/api/kernels")):
            request = urllib.request.Request(f"{base}/api/kernels/{kernel['id']}", method="DELETE")
            urllib.request.urlopen(request, timeout=10).close()
    except OSError:
        pass  # the server is already gone; the process group below is what matters
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _lab_command(bin_dir: Path, port: int, root: Path) -> list[str]:
    """jupyter lab on 127.0.0.1:port serving root, without token, browser, news or PyPI."""
    return [
        str(bin_dir / "jupyter"),
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--ServerApp.disable_check_xsrf=True",  # lets the cleanup DELETE kernels by API
        "--LabApp.extension_manager=readonly",  # no PyPI queries from the extension manager
        *(["--allow-root"] if os.geteuid() == 0 else []),  # CI containers run as root
    ]


@pytest.fixture
def jupyter_lab(tmp_path):
    """(base url, notebook dir) of a running JupyterLab; stopped afterwards, also on failure."""
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, tmp_path / NOTEBOOK)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "JUPYTER_RUNTIME_DIR": str(tmp_path / ".runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / ".workspaces"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / ".settings"),
    }
    # No "would you like to get Jupyter news?" prompt over the widgets in the screenshots.
    notification = tmp_path / ".settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    log = tmp_path / "jupyter.log"
    command = _lab_command(bin_dir, port, tmp_path)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so cleanup reaches every child
        )
    try:
        _wait_for_server(base, proc, log)
        yield base, tmp_path
    finally:
        _shutdown(base, proc)
        (ARTIFACTS / "jupyter.log").parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(log, ARTIFACTS / "jupyter.log")


def _shape_labels(page) -> list[str]:
    return page.locator(".rlkit-shape").all_inner_texts()


def _curve_src(page) -> str:
    return page.locator("img.rlkit-curves").get_attribute("src") or ""


def _run_all_cells(page, base: str) -> None:
    page.goto(f"{base}/lab/tree/{NOTEBOOK}")
    page.locator(".jp-Notebook").wait_for(timeout=60_000)
    # The status bar says "Idle" once the kernel has started and the page is connected to it;
    # cells run before that can be lost.
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=90_000)
    page.locator(".jp-Notebook").click()
    page.get_by_role("menuitem", name="Run").click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()


def _screenshot(page, name: str) -> None:
    """The notebook's output area (the Playground) as a PNG under artifacts/browser/."""
    output = page.locator(".jp-OutputArea-output").last
    if output.count():
        output.scroll_into_view_if_needed()
        output.screenshot(path=ARTIFACTS / name)
    else:
        page.screenshot(path=ARTIFACTS / name)


def _pick_model_and_train(page) -> None:
    from playwright.sync_api import expect

    labels = page.locator(".rlkit-shape")
    expect(labels).to_have_count(6, timeout=120_000)
    before = _shape_labels(page)
    assert before[3] == "(2,) float32", before
    assert "FullyConnectedNetwork" in page.locator(".rlkit-stage").nth(3).inner_text()
    _screenshot(page, "1_playground.png")

    model = page.locator(".widget-dropdown").filter(
        has=page.locator("label", has_text=re.compile(r"^model$"))
    )
    model.locator("select").select_option(label="tiny_gru")
    expect(labels.nth(3)).to_have_text("(2,) float32 · state (6,)", timeout=30_000)
    assert _shape_labels(page) != before
    assert "TinyGRU" in page.locator(".rlkit-stage").nth(3).inner_text()
    _screenshot(page, "2_model_changed.png")

    src_before = _curve_src(page)
    train = page.locator("button.widget-button", has_text="Train")
    train.click()
    expect(page.locator(".rlkit-status")).to_contain_text("iteration 3", timeout=60_000)
    expect(train).to_be_enabled(timeout=30_000)
    page.wait_for_function(
        "old => { const img = document.querySelector('img.rlkit-curves');"
        " return img && img.src && img.src !== old && img.naturalWidth > 0; }",
        arg=src_before,
        timeout=30_000,
    )
    assert "custom:tiny_gru" in page.locator(".rlkit-status").inner_text()
    _screenshot(page, "3_trained.png")


def test_playground_in_jupyterlab(jupyter_lab):
    from playwright.sync_api import sync_playwright

    base, _ = jupyter_lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # Tall enough for the whole Playground, so one screenshot shows every widget.
        page = browser.new_page(viewport={"width": 1500, "height": 2600})
        try:
            _run_all_cells(page, base)
            _pick_model_and_train(page)
        except Exception:
            page.screenshot(path=ARTIFACTS / "failure.png")
            raise
        finally:
            browser.close()
