"""JupyterLab in headless Chromium: a sweep dashboard under Run All, stopped from the widget.

Runs notebooks/sweep_smoke.ipynb (notebook 11's sweep cells: the board cell, then a cell that
blocks in ``board.wait()``) with Run All at 1000 x 1000 (then again at 1400), JupyterLab's file
browser open, and checks as a student would see it:

- the dashboard stays on the page while Tune runs (Tune's notebook reporter once cleared the
  cell from the sweep's thread, leaving an empty output);
- its status counts the trials Tune started, and the picture is drawn while trials run;
- Stop, pressed while the kernel is busy in the ``wait()`` cell, ends the sweep: the status
  says "stopped" and the waiting cell prints it, long before the 300 iterations could end;
- Run All a second time (a re-run of the board cell), at 1400 px, shows a new, live dashboard
  again, and Stop works again.

Screenshots go to artifacts/browser/ (sweep_running_1000.png, sweep_stopped_1000.png,
sweep_running_rerun_1400.png).
"""

import re

import pytest
from test_browser import ARTIFACTS, lab_server, launch_chromium, readable_picture, run_all_cells

pytestmark = [pytest.mark.browser, pytest.mark.ray]
pytest.importorskip("ray")

NOTEBOOK = "sweep_smoke.ipynb"


def _running_board(page, tag: str) -> None:
    """The board is on the page, counting started trials, with a picture drawn."""
    from playwright.sync_api import expect

    board, status = page.locator(".rlkit-sweep"), page.locator(".rlkit-sweep-status")
    expect(status).to_contain_text(re.compile(r"running: \d of 4 trials started"), timeout=240_000)
    expect(page.locator("img.rlkit-sweep-curves")).to_be_visible(timeout=60_000)
    page.wait_for_timeout(3000)  # trials keep reporting: Tune's reporter would clear by now
    expect(board).to_be_visible()
    expect(page.locator(".rlkit-sweep-status")).to_contain_text("running:")
    prompt = page.locator(".jp-Cell").nth(3).locator(".jp-InputPrompt")
    assert prompt.inner_text().strip() == "[*]:"  # the wait() cell is running
    board.screenshot(path=ARTIFACTS / f"sweep_running_{tag}.png")


def _stop_from_the_widget(page) -> str:
    from playwright.sync_api import expect

    status = page.locator(".rlkit-sweep-status")
    page.locator(".rlkit-sweep button", has_text="Stop").click()
    expect(status).to_contain_text("stopping", timeout=10_000)  # heard while the cell waits
    expect(status).to_contain_text("stopped:", timeout=120_000)
    printed = page.locator(".jp-Cell").nth(3).locator(".jp-OutputArea-output")
    expect(printed).to_contain_text("stopped:", timeout=30_000)  # wait() returned
    text = status.inner_text()
    assert re.search(r"stopped: [1-4] of 4 trials started, 0 ran all 300 iterations", text), text
    return text


def test_sweep_dashboard_survives_run_all_and_stops_from_the_widget(tmp_path):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with lab_server(tmp_path, (NOTEBOOK,)) as (base, _), sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1000, "height": 1000})
        try:
            run_all_cells(page, base, NOTEBOOK)
            _running_board(page, "1000")
            _stop_from_the_widget(page)
            readable_picture(page, ".rlkit-sweep .rlkit-legend")
            page.locator(".rlkit-sweep").screenshot(path=ARTIFACTS / "sweep_stopped_1000.png")
            page.set_viewport_size({"width": 1400, "height": 1000})
            page.get_by_role("menuitem", name="Run").click()  # Run All again: a re-run
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            _running_board(page, "rerun_1400")
            _stop_from_the_widget(page)
            readable_picture(page, ".rlkit-sweep .rlkit-legend")
        except Exception:
            page.screenshot(path=ARTIFACTS / "sweep_failure.png")
            raise
        finally:
            browser.close()
