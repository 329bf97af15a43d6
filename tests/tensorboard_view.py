"""TensorBoard on run folders, opened in Debian's headless Chromium (playwright).

Used by tests/test_records_browser.py, and to take the README's screenshot:

    python tests/tensorboard_view.py RUNS_DIR docs/images/tensorboard.png

It starts ``tensorboard --logdir RUNS_DIR --host 127.0.0.1`` on a free port (stopped by its
PID at the end), waits for the scalar cards, shows the cards of the return, the entropy and
the value loss (TensorBoard's tag filter) and saves a screenshot.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def tensorboard_server(logdir: str, timeout_s: float = 120) -> Iterator[str]:
    """Yield the URL of a TensorBoard serving ``logdir`` on 127.0.0.1; stop it afterwards."""
    port = _free_port()
    home = tempfile.mkdtemp(prefix="rlkit_tb_home_")  # TensorBoard's own files, not the user's
    command = [
        os.path.join(os.path.dirname(sys.executable), "tensorboard"),
        "--logdir",
        logdir,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--load_fast",
        "false",
    ]
    env = {**os.environ, "HOME": home, "TMPDIR": home}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"tensorboard exited: {process.stderr.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/data/runs", timeout=5) as response:
                    if response.read().strip() not in (b"", b"[]"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"tensorboard on {url} did not list the runs in {timeout_s} s")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(home, ignore_errors=True)


def screenshot(logdir: str, png: str, tags: str = "^(episode_reward_mean|entropy|vf_loss)$") -> str:
    """Open TensorBoard on ``logdir``, show the ``tags`` (a regex) and save a PNG.

    Returns the page's text (run names, tags, values) for a test to read.
    """
    from playwright.sync_api import sync_playwright

    with tensorboard_server(logdir) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 760})
            query = urllib.parse.urlencode({"tagFilter": tags})
            page.goto(f"{url}/?{query}#timeseries", wait_until="networkidle")
            page.wait_for_selector("scalar-card-component", timeout=90_000)
            page.wait_for_selector("scalar-card-component line-chart canvas", timeout=90_000)
            close = page.locator("[aria-label='Close side pane'], [aria-label*='lose settings']")
            if close.count():  # the settings pane: room for the cards
                close.first.click()
            time.sleep(3)  # the line charts' last frame
            page.screenshot(path=png)
            return page.inner_text("body")
        finally:
            browser.close()


if __name__ == "__main__":
    print(screenshot(sys.argv[1], sys.argv[2])[:500])
