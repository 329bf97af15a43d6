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
        "OMP_NUM_THREADS": "1",
    }
    log = tmp_path / "jupyter.log"
    command = [
        str(bin_dir / "jupyter"),
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        f"--ServerApp.root_dir={tmp_path}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",  # no PyPI queries from the extension manager
        *(["--allow-root"] if os.geteuid() == 0 else []),  # CI containers run as root
    ]
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


def test_playground_in_jupyterlab(jupyter_lab):
    from playwright.sync_api import expect, sync_playwright

    base, _ = jupyter_lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1400})
            page.goto(f"{base}/lab/tree/{NOTEBOOK}")
            page.locator(".jp-Notebook").wait_for(timeout=60_000)
            # Wait until the kernel is connected and idle before running the cells.
            expect(
                page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")
            ).to_be_attached(timeout=60_000)
            page.locator(".jp-Notebook").click()
            page.get_by_role("menuitem", name="Run").click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

            labels = page.locator(".rlkit-shape")
            expect(labels).to_have_count(6, timeout=120_000)
            before = _shape_labels(page)
            assert before[3] == "(2,) float32", before
            page.screenshot(path=ARTIFACTS / "1_playground.png", full_page=True)

            model = page.locator(".widget-dropdown").filter(
                has=page.locator("label", has_text=re.compile(r"^model$"))
            )
            model.locator("select").select_option(label="tiny_gru")
            expect(labels.nth(3)).to_have_text("(2,) float32 · state (6,)", timeout=30_000)
            after = _shape_labels(page)
            assert after != before and "TinyGRU" in page.locator(".rlkit-stage").nth(3).inner_text()
            page.screenshot(path=ARTIFACTS / "2_model_changed.png", full_page=True)

            src_before = _curve_src(page)
            page.locator("button.widget-button", has_text="Train").click()
            expect(page.locator(".rlkit-status")).to_contain_text("iteration 3", timeout=60_000)
            expect(page.locator("button.widget-button", has_text="Train")).to_be_enabled(
                timeout=30_000
            )
            page.wait_for_function(
                "old => { const img = document.querySelector('img.rlkit-curves');"
                " return img && img.src && img.src !== old && img.naturalWidth > 0; }",
                arg=src_before,
                timeout=30_000,
            )
            page.locator(".rlkit-curves").scroll_into_view_if_needed()
            page.screenshot(path=ARTIFACTS / "3_trained.png", full_page=True)
            assert "custom:tiny_gru" in page.locator(".rlkit-status").inner_text()
        finally:
            browser.close()
