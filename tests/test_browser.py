"""The student's notebook in a real browser: JupyterLab in headless Chromium, every cell run, each slider moved.

Needs Debian's chromium (/usr/bin/chromium; `.ci/run` installs it). Skipped where it is absent,
except under CI=true, where its absence is a failure.
"""
import json
import os
from pathlib import Path

import nbformat
import pytest

import lab_server
from grading.submissions import answered
from lab_server import CHROMIUM, CHROMIUM_ARGS

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI=true but chromium is not installed: .ci/run must apt-get install chromium")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)




@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving the release notebook with its answers filled in."""
    root = tmp_path_factory.mktemp("lab")
    # the release with answers: "Run All Cells" stops at the first unanswered exercise
    nbformat.write(answered(), root / "vi_stars.ipynb")
    settings = root / ".settings"
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    # render every cell, not only those in view, so that the test can find every widget
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"}))
    with lab_server.server(root, root, settings) as (base, token):
        yield f"{base}/lab/tree/vi_stars.ipynb?reset&token={token}"


@pytest.fixture(scope="module")
def page(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(lab)
        page.wait_for_function("document.body.innerText.includes('Python 3 (ipykernel) | Idle')", timeout=120_000)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        # done when every code cell has an execution count and the kernel is idle again
        page.wait_for_function("""() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent);
            return prompts.length > 0 && prompts.every(t => /\\[\\d+\\]/.test(t))
                && document.body.innerText.includes('Python 3 (ipykernel) | Idle');
        }""", timeout=300_000, polling=1000)
        yield page
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-widgets.png"), full_page=False)
        browser.close()


def slider(page, description):
    return page.locator(".widget-slider", has_text=description).first


def move_right(page, description):
    """Focus the slider's handle, press the right arrow, and return the readout before and after."""
    box = slider(page, description)
    box.scroll_into_view_if_needed()
    readout = box.locator(".widget-readout")
    before = readout.inner_text()
    box.locator(".noUi-handle").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("([el, old]) => el.textContent.trim() !== old.trim()", arg=[readout.element_handle(), before])
    return before, readout.inner_text()


def html_with(page, text):
    return page.locator(".widget-html", has_text=text).first


def test_every_cell_ran_without_widget_errors(page):
    assert "Error displaying widget" not in page.content()
    stderr = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert stderr.count() == 0, [stderr.nth(i).inner_text()[:500] for i in range(stderr.count())]
    assert page.locator(".widget-slider").count() == 4


def test_grid_sliders_recompute_the_posterior(page):
    scores = html_with(page, "posterior mean RMSE")
    assert "grid 6,400 to 506,300" in scores.inner_text() and "1,177.2" in scores.inner_text()
    assert move_right(page, "bin width") == ("100", "200")
    page.wait_for_function("el => el.textContent.includes('grid 6,400 to 1,006,200')", arg=scores.element_handle())
    assert move_right(page, "grid size") == ("5000", "10000")
    page.wait_for_function("el => el.textContent.includes('grid 6,400 to 2,006,200')", arg=scores.element_handle())
    assert "Error displaying widget" not in page.content()


@pytest.mark.parametrize("description, before, after", [
    ("per-image VI learning rate", "100", "1000"),
    ("encoder learning rate", "0.001", "0.01"),
])
def test_learning_rate_sliders_retrain(page, description, before, after):
    assert move_right(page, description) == (before, after)
    status = html_with(page, f"learning rate {after}")
    status.wait_for(timeout=120_000)
    page.wait_for_function("el => el.textContent.includes('RMSE') || el.textContent.includes('diverged')",
                           arg=status.element_handle(), timeout=120_000)
    assert "Error displaying widget" not in page.content()
