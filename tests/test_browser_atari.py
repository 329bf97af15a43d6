"""JupyterLab in headless Chromium: Pong picked in the Playground and trained by a click.

Reuses tests/test_browser.py's server and browser helpers on the same smoke notebook: picks
``ALE/Pong-v5`` in the environment dropdown, waits for the data-flow view to show the frames
the trainer's sampler delivers (DeepMind's 84 x 84 x 4 uint8 stack) and checks the picture
reads (its six action probabilities listed, never overlapping), then clicks Train for one
iteration and waits for "finished".
"""

import re

import pytest
from test_browser import (
    ARTIFACTS,
    _button,
    _labelled,
    lab_server,
    launch_chromium,
    readable_picture,
    run_all_cells,
)

pytestmark = pytest.mark.browser
pytest.importorskip("ale_py")


def test_train_pong_in_the_playground(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with lab_server(tmp_path) as (base, _), sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            run_all_cells(page, base)
            env = _labelled(page, ".widget-dropdown", "environment").locator("select")
            env.wait_for(timeout=90_000)
            env.select_option(label="ALE/Pong-v5")
            shapes = page.locator(".rlkit-shape")
            expect(shapes.first).to_have_text("(84, 84, 4) uint8", timeout=60_000)
            expect(shapes.nth(1)).to_have_text("(84, 84, 4) float32")
            words = readable_picture(page)  # Pong's six probabilities never overlap
            assert sum(w["text"].endswith(("0.17", "0.16", "0.18")) for w in words) >= 3
            page.locator(".rlkit-panel-dataflow").screenshot(path=ARTIFACTS / "pong_dataflow.png")
            iterations = _labelled(page, ".widget-text", "iterations").locator("input")
            iterations.fill("1")
            iterations.press("Enter")
            _button(page, "Train").click()
            status = page.locator(".rlkit-status")
            expect(status).to_contain_text("finished", timeout=180_000)
            text = status.inner_text()
            assert "Pong" in text and not re.search(r"Error|nan", text), text
            page.locator(".rlkit-panel-training").screenshot(path=ARTIFACTS / "pong_trained.png")
        except Exception:
            page.screenshot(path=ARTIFACTS / "pong_failure.png")
            raise
        finally:
            browser.close()
