"""JupyterLab in headless Chromium: the Playground read and driven as a student does.

Starts ``jupyter lab`` on 127.0.0.1 (free port, no token) in a temporary directory holding a
copy of notebooks/playground_smoke.ipynb, opens it with Debian's chromium through playwright
at 1400 x 1000, runs all cells and, by clicks and typing only, checks that: the swap controls
and the data-flow picture are both in the first viewport, side by side; no panel is wider than
its content allows (scrollWidth <= clientWidth); a bad editor is outlined with its message
under it and Train is off; the hyperparameters fold out; the replay is cleared when the env
changes and its frame is never stretched; the status goes running -> stopping/stopped ->
finished through Train -> Stop -> Train; runs can be hidden and removed. Then at 1000 x 1000
the panels stack. Screenshots of every panel at both widths go to artifacts/browser/. The
server (and its kernel) is shut down even when a step fails.

Reusable by other browser tests: ``lab_server``, ``launch_chromium``, ``run_all_cells``,
``overflowing``, ``screenshot_panels``.

Needs: ``apt-get install chromium`` and ``pip install playwright`` (scripts/test.sh does both;
``playwright install`` cannot download browsers here and is not needed).
"""

import contextlib
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


@contextlib.contextmanager
def lab_server(tmp_path: Path, notebooks: tuple[str, ...] = (NOTEBOOK,)):
    """(base url, notebook dir) of a JupyterLab serving copies of ``notebooks`` (names under
    notebooks/); stopped on exit, also on failure. Other browser tests reuse it."""
    for name in notebooks:
        shutil.copy(ROOT / "notebooks" / name, tmp_path / Path(name).name)
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


@pytest.fixture
def jupyter_lab(tmp_path):
    """(base url, notebook dir) of a running JupyterLab with the smoke notebook."""
    with lab_server(tmp_path) as served:
        yield served


def launch_chromium(playwright):
    """Debian's headless Chromium (the network is closed: no updates, no sync)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", *CHROMIUM_ARGS])


# -- driving the page -------------------------------------------------------------------------
PANELS = ("components", "dataflow", "training", "replay")
# Every Playground panel's widths: its content never wider than the panel (no scrollbar).
_WIDTHS_JS = """() => Array.from(document.querySelectorAll('.rlkit-panel, .jp-OutputArea-output'))
    .map(el => ({name: el.className, scroll: el.scrollWidth, client: el.clientWidth}))"""


def run_all_cells(page, base: str, notebook: str = NOTEBOOK) -> None:
    """Open ``notebook`` in JupyterLab and run every cell once the kernel is idle."""
    page.goto(f"{base}/lab/tree/{notebook}")
    page.locator(".jp-Notebook").wait_for(timeout=60_000)
    # The status bar says "Idle" once the kernel has started and the page is connected to it;
    # cells run before that can be lost.
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=90_000)
    page.locator(".jp-Notebook").click()
    page.get_by_role("menuitem", name="Run").click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()


def overflowing(page) -> list[dict]:
    """The panels (and output areas) whose content is wider than they are."""
    return [w for w in page.evaluate(_WIDTHS_JS) if w["scroll"] > w["client"]]


def screenshot_panels(page, tag: str) -> None:
    """One PNG per Playground panel under artifacts/browser/, e.g. dataflow_1400.png."""
    for name in PANELS:
        panel = page.locator(f".rlkit-panel-{name}")
        panel.scroll_into_view_if_needed()
        panel.screenshot(path=ARTIFACTS / f"{name}_{tag}.png")


def _labelled(page, kind: str, label: str):
    """The widget of CSS class ``kind`` whose description is exactly ``label``."""
    return page.locator(kind).filter(has=page.locator("label", has_text=re.compile(f"^{label}$")))


def _button(page, text: str):
    return page.locator("button.widget-button", has_text=text)


def _shape_labels(page) -> list[str]:
    return page.locator(".rlkit-shape").all_inner_texts()


def _box(page, selector: str) -> dict:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not on the page"
    return box


def _check_wide_layout(page, height: int) -> None:
    """At 1400 px: the swap controls and the picture side by side in one viewport."""
    from playwright.sync_api import expect

    expect(page.locator(".rlkit-shape")).to_have_count(6, timeout=120_000)
    page.locator(".rlkit-panel-components").evaluate("el => el.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    first = _box(page, ".rlkit-panel-components")
    last = _labelled(page, ".widget-dropdown", "action distribution").bounding_box()
    picture = _box(page, ".rlkit-dataflow")
    assert first["y"] >= 0 and last["y"] + last["height"] <= height, (first, last)
    assert picture["y"] >= 0 and picture["y"] + picture["height"] <= height, picture
    assert picture["x"] > first["x"] + 300  # beside the controls, not under them
    assert overflowing(page) == []
    screenshot_panels(page, "1400")


def _check_narrow_layout(page) -> None:
    """At 1000 px: the panels stack instead of squeezing; nothing overflows."""
    page.set_viewport_size({"width": 1000, "height": 1000})
    page.wait_for_timeout(1000)
    components, flow = _box(page, ".rlkit-panel-components"), _box(page, ".rlkit-panel-dataflow")
    assert flow["y"] >= components["y"] + components["height"] - 1, (components, flow)
    assert flow["width"] >= 0.9 * components["width"]  # full width, not a squeezed column
    assert overflowing(page) == []
    screenshot_panels(page, "1000")


def _bad_editor_blocks_train(page) -> None:
    from playwright.sync_api import expect

    hiddens = _labelled(page, ".widget-text", "fcnet_hiddens").locator("input")
    train = _button(page, "Train")
    hiddens.fill("64, x")
    hiddens.press("Enter")
    expect(page.locator(".rlkit-bad")).to_have_count(1)
    expect(page.locator(".rlkit-error")).to_contain_text("fcnet_hiddens")
    expect(train).to_be_disabled()
    expect(page.locator(".rlkit-status")).to_contain_text("Train is off")
    editor, message = _box(page, ".rlkit-bad"), _box(page, ".rlkit-error")
    assert 0 <= message["y"] - (editor["y"] + editor["height"]) < 20  # right under the editor
    page.locator(".rlkit-panel-components").screenshot(path=ARTIFACTS / "bad_editor_1400.png")
    hiddens.fill("16")
    hiddens.press("Enter")
    expect(page.locator(".rlkit-bad")).to_have_count(0)
    expect(train).to_be_enabled()


def _replay_cleared_on_env_change(page) -> None:
    from playwright.sync_api import expect

    _button(page, "Record episode").click()
    frame = page.locator("img.rlkit-replay-frame")
    expect(frame).to_be_visible(timeout=60_000)
    page.wait_for_function(
        "() => document.querySelector('img.rlkit-replay-frame').naturalWidth > 0"
    )
    nw, nh, cw, ch = frame.evaluate(
        "img => [img.naturalWidth, img.naturalHeight, img.clientWidth, img.clientHeight]"
    )
    assert cw <= nw and abs(cw / ch - nw / nh) < 0.02, (nw, nh, cw, ch)  # never stretched
    env = _labelled(page, ".widget-dropdown", "environment").locator("select")
    env.select_option(label="Acrobot-v1")
    expect(frame).to_be_hidden()
    expect(page.locator(".rlkit-replay-status")).to_contain_text("Acrobot")
    expect(page.locator(".rlkit-shape").first).to_have_text("(6,) float32", timeout=30_000)
    env.select_option(label="CartPole-v1")
    expect(page.locator(".rlkit-shape").first).to_have_text("(4,) float32", timeout=30_000)


def _hyperparameters_fold_out(page) -> None:
    from playwright.sync_api import expect

    lr = _labelled(page, ".widget-text", "lr").locator("input")
    expect(lr).to_be_hidden()  # folded away until asked for
    page.get_by_text("Hyperparameters", exact=True).click()
    expect(lr).to_be_visible()
    lr.fill("0.001")
    lr.press("Enter")
    expect(page.locator(".rlkit-bad")).to_have_count(0)
    page.get_by_text("Hyperparameters", exact=True).click()
    expect(lr).to_be_hidden()


def _pick_model(page) -> None:
    from playwright.sync_api import expect

    labels = page.locator(".rlkit-shape")
    before = _shape_labels(page)
    assert before[3] == "(2,) float32", before
    assert "FullyConnectedNetwork" in page.locator(".rlkit-stage").nth(3).inner_text()
    model = _labelled(page, ".widget-dropdown", "model").locator("select")
    model.select_option(label="tiny_gru")
    expect(labels.nth(3)).to_have_text("(2,) float32 · state (6,)", timeout=30_000)
    assert "TinyGRU" in page.locator(".rlkit-stage").nth(3).inner_text()


def _train_stop_train(page) -> None:
    """Status texts through Train -> Stop -> Train; curves redrawn."""
    from playwright.sync_api import expect

    status, train, stop = (
        page.locator(".rlkit-status"),
        _button(page, "Train"),
        _button(page, "Stop"),
    )
    iterations = _labelled(page, ".widget-text", "iterations").locator("input")
    iterations.fill("500")
    iterations.press("Enter")
    train.click()
    expect(status).to_contain_text(re.compile(r"iteration \d+ running"), timeout=60_000)
    stop.click()
    expect(status).to_contain_text(re.compile("stopping after this iteration|stopped after"))
    expect(status).to_contain_text("stopped after", timeout=60_000)
    expect(train).to_be_enabled()
    text = status.inner_text()
    assert "nan" not in text and ("reward" in text or "no episode finished yet" in text), text
    src_before = page.locator("img.rlkit-curves").get_attribute("src") or ""
    iterations.fill("2")
    iterations.press("Enter")
    train.click()
    expect(status).to_contain_text("finished", timeout=60_000)
    assert "custom:tiny_gru" in status.inner_text()
    page.wait_for_function(
        "old => { const img = document.querySelector('img.rlkit-curves');"
        " return img && img.src && img.src !== old && img.naturalWidth > 0; }",
        arg=src_before,
        timeout=30_000,
    )


def _toggle_and_remove_runs(page) -> None:
    from playwright.sync_api import expect

    rows = page.locator(".rlkit-legend-row")
    expect(rows).to_have_count(1)
    curves = page.locator("img.rlkit-curves")
    rows.first.locator("input[type=checkbox]").click()  # hide the only run: no picture
    expect(curves).to_be_hidden()
    rows.first.locator("input[type=checkbox]").click()
    expect(curves).to_be_visible()
    rows.first.locator("button").click()  # remove it
    expect(rows).to_have_count(0)
    expect(curves).to_be_hidden()


def test_playground_in_jupyterlab(jupyter_lab):
    from playwright.sync_api import sync_playwright

    base, _ = jupyter_lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            run_all_cells(page, base)
            _check_wide_layout(page, 1000)
            _bad_editor_blocks_train(page)
            _hyperparameters_fold_out(page)
            _replay_cleared_on_env_change(page)
            _pick_model(page)
            _train_stop_train(page)
            assert overflowing(page) == []
            screenshot_panels(page, "1400_trained")
            _check_narrow_layout(page)
            _toggle_and_remove_runs(page)
        except Exception:
            page.screenshot(path=ARTIFACTS / "failure.png")
            raise
        finally:
            browser.close()
