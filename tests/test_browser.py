"""JupyterLab in headless Chromium: the Playground read and driven as a student does.

Starts ``jupyter lab`` on 127.0.0.1 (free port, no token) in a temporary directory holding a
copy of notebooks/playground_smoke.ipynb, opens it with Debian's chromium through playwright
at 1400 x 1000 with JupyterLab's file browser open, runs all cells and, by clicks and typing
only, checks that: the swap controls and the data-flow picture are both in the first viewport,
side by side; no panel is wider than its content allows (scrollWidth <= clientWidth) and no
input, dropdown or error outline pokes out of its panel; a bad editor is outlined with its
message under it and Train is off; the hyperparameters fold out; the replay is cleared when the
env changes and its frame is never stretched; the picture is readable (no text under 12 px,
no two words' boxes overlapping, no word broken inside, numbers on heat cells at WCAG AA
contrast; Taxi's six action probabilities included); the status goes running ->
stopping/stopped -> finished through Train -> Stop -> Train; runs can be hidden and removed.
Then at 1000 x 1000, file browser still open: a swap and its picture are in one viewport, side
by side, and nothing is clipped. Screenshots of every panel at both widths go to
artifacts/browser/ (kept by CI). The server (and its kernel) is shut down even when a step
fails.

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


# Inputs, dropdowns and outlined editors whose box (outline included) leaves their panel.
_CLIPPED_JS = """() => {
  const out = [];
  for (const panel of document.querySelectorAll('.rlkit-panel')) {
    const p = panel.getBoundingClientRect();
    for (const el of panel.querySelectorAll('input, select, button, .rlkit-bad')) {
      const r = el.getBoundingClientRect();
      if (!r.width) continue;  // folded away
      const s = getComputedStyle(el);
      const o = s.outlineStyle === 'none'
        ? 0 : parseFloat(s.outlineWidth) + parseFloat(s.outlineOffset);
      const grow = Math.max(0, o);
      if (r.left - grow < p.left - 0.5 || r.right + grow > p.right + 0.5)
        out.push({panel: panel.className, el: el.outerHTML.slice(0, 80),
                  left: r.left, right: r.right, p: [p.left, p.right]});
    }
  }
  return out;
}"""


def clipped(page) -> list[dict]:
    """Inputs, dropdowns, buttons and error outlines reaching outside their panel."""
    return page.evaluate(_CLIPPED_JS)


# Every word of the picture: its font size and its boxes (one per line it is drawn on).
_WORDS_JS = r"""root => {
  const words = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!node.textContent.trim() || el.closest('title, style')) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    for (const m of node.textContent.matchAll(/\S+/g)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const rects = Array.from(range.getClientRects()).filter(r => r.width > 0)
        .map(r => [r.left, r.top, r.right, r.bottom]);
      if (rects.length) words.push({text: m[0], size, rects});
    }
  }
  return words;
}"""
# Numbers printed on heat-strip cells: the cell's fill and the number's.
_INKS_JS = """root => Array.from(root.querySelectorAll('svg text')).map(t => {
  const cell = t.previousElementSibling;
  if (!cell || cell.tagName !== 'rect') return null;
  return [cell.getAttribute('fill'), t.getAttribute('fill'), t.textContent];
}).filter(x => x)"""


def _overlap(a: list, b: list) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > 0.5 and min(a[3], b[3]) - max(a[1], b[1]) > 0.5


def _contrast(fill: str, ink: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    hi, lo = sorted((luminance(fill), luminance(ink)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def readable_picture(page, selector: str = ".rlkit-dataflow") -> list[dict]:
    """Assert the picture is readable as drawn: text >= 12 px, no two words overlapping, no
    word broken across lines, numbers on heat cells at 4.5:1 contrast or more."""
    root = page.locator(selector).first
    words = root.evaluate(_WORDS_JS)
    assert words, "no text in the picture"
    small = [(w["text"], w["size"]) for w in words if w["size"] < 12]
    assert small == [], f"text under 12 px: {small[:10]}"
    broken = [w["text"] for w in words if len(w["rects"]) > 1]
    assert broken == [], f"words broken across lines: {broken}"
    boxes = [(w["text"], r) for w in words for r in w["rects"]]
    clashes = [
        (a, b) for i, (a, ra) in enumerate(boxes) for b, rb in boxes[i + 1 :] if _overlap(ra, rb)
    ]
    assert clashes == [], f"labels overlap: {clashes[:10]}"
    for fill, ink, text in root.evaluate(_INKS_JS):
        if fill.startswith("#") and fill not in ("#ffffff", "#d3d3d3", "#1f77b4", "#000000"):
            assert _contrast(fill, ink) >= 4.5, (text, fill, ink)
    return words


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


def _swap_and_picture_in_one_viewport(page, height: int) -> None:
    """Every swap control and the whole picture are on screen at once, side by side."""
    page.locator(".rlkit-panel-components").evaluate("el => el.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    first = _box(page, ".rlkit-panel-components")
    last = _labelled(page, ".widget-dropdown", "action distribution").bounding_box()
    picture = _box(page, ".rlkit-dataflow")
    assert first["y"] >= 0 and last["y"] + last["height"] <= height, (first, last)
    assert picture["y"] >= 0 and picture["y"] + picture["height"] <= height, picture
    assert picture["x"] >= first["x"] + first["width"]  # beside the controls, not under them


def _check_wide_layout(page, height: int) -> None:
    """At 1400 px: the swap controls and the picture side by side in one viewport."""
    from playwright.sync_api import expect

    expect(page.locator(".rlkit-shape")).to_have_count(6, timeout=120_000)
    assert page.locator("#filebrowser").is_visible()  # JupyterLab's default: it takes 250 px
    _swap_and_picture_in_one_viewport(page, height)
    assert overflowing(page) == [] and clipped(page) == []
    screenshot_panels(page, "1400")
    page.screenshot(path=ARTIFACTS / "page_1400.png")


def _check_narrow_layout(page) -> None:
    """At 1000 px, file browser open: a swap and its picture together; nothing clipped."""
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1000, "height": 1000})
    page.wait_for_timeout(1000)
    assert page.locator("#filebrowser").is_visible()
    _swap_and_picture_in_one_viewport(page, 1000)
    assert overflowing(page) == [] and clipped(page) == []
    env = _labelled(page, ".widget-dropdown", "environment").locator("select")
    env.select_option(label="Acrobot-v1")  # a swap, watched without scrolling
    expect(page.locator(".rlkit-shape").first).to_have_text("(6,) float32", timeout=30_000)
    _swap_and_picture_in_one_viewport(page, 1000)
    page.screenshot(path=ARTIFACTS / "page_1000.png")
    hiddens = _labelled(page, ".widget-text", "fcnet_hiddens").locator("input")
    hiddens.fill("64, x")
    hiddens.press("Enter")
    expect(page.locator(".rlkit-bad")).to_have_count(1)
    assert clipped(page) == []  # the outline and its message fit the compact column
    page.locator(".rlkit-panel-components").screenshot(path=ARTIFACTS / "bad_editor_1000.png")
    hiddens.fill("16")
    hiddens.press("Enter")
    expect(page.locator(".rlkit-bad")).to_have_count(0)
    env.select_option(label="CartPole-v1")
    expect(page.locator(".rlkit-shape").first).to_have_text("(4,) float32", timeout=30_000)
    readable_picture(page)
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
    assert clipped(page) == []  # the outline is inside the panel
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


def _readable_with_six_actions(page) -> None:
    """The picture's words, Taxi's six action probabilities (Pong has six too) included."""
    from playwright.sync_api import expect

    readable_picture(page)
    env = _labelled(page, ".widget-dropdown", "environment").locator("select")
    env.select_option(label="Taxi-v4")
    expect(page.locator(".rlkit-shape").first).to_have_text("() int64", timeout=30_000)
    words = readable_picture(page)
    assert sum(w["text"].startswith("0.1") for w in words) >= 6  # six p values, all on screen
    page.locator(".rlkit-panel-dataflow").screenshot(path=ARTIFACTS / "dataflow_taxi_1400.png")
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
    shown, natural = page.locator("img.rlkit-curves").evaluate(
        "img => [img.clientWidth, img.naturalWidth]"
    )
    assert 2 * shown >= natural - 1, (shown, natural)  # 2x pixels never shrunk: text >= 12 px


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
            _readable_with_six_actions(page)
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
