"""The run and task pages in Chromium, served by our real HTTP server: a step that delegated
a task shows it as its child (on its DAG node and under the step, linking to the task), and
the task's and the run's workspace files are listed, uploaded and downloaded from the page.

The lead agent delegates on a scripted model (the only part replaced: a hosted model), the
helper takes the task through the real dispatcher, and the built UI (scripts/build-frontend.sh,
run before the suite by scripts/test) is what the browser loads.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from orchestra.api.app import create_app
from orchestra.api.deps import ApiOptions
from orchestra.api.web import WEB_DIR
from orchestra.config import load_settings
from orchestra.engine.states import RunStatus
from orchestra.llm.scripted import Reply, ScriptRegistry
from orchestra.runtime.container import Container, ContainerOptions
from tests.api.live import serve
from tests.tasks.test_delegate import _lead_script, _project

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NOTES = b"# Field notes\n42 bees, counted twice.\n"
WAIT_MS = 120_000  # a loaded machine; every wait ends at the page's own signal


@pytest.fixture
async def container(tmp_path: Path) -> AsyncIterator[Container]:
    scripts = ScriptRegistry()
    scripts.register("helper", [Reply(text="there are 42 bees")], repeat_last=True)
    scripts.register("lead", _lead_script({"title": "Count the bees", "agent": "helper"}))
    opened = await Container.open(
        load_settings(_project(tmp_path / "team"), env={}),
        ContainerOptions(refresh_s=None, scripts=scripts, dispatch=True),
    )
    try:
        yield opened
    finally:
        await opened.close()


async def _sign_in(page: Page, base: str, key: str) -> None:
    await page.goto(base)
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()


async def test_the_run_page_shows_a_delegated_child_and_workspace_files_move_both_ways(
    container: Container, tmp_path: Path
) -> None:
    assert (WEB_DIR / "index.html").is_file(), "build the web UI first: scripts/build-frontend.sh"
    run_id = await container.runs.start_run("plan", {})
    record = await container.runs.wait(run_id)
    assert record.status is RunStatus.SUCCEEDED, record.error
    (child,) = await container.tasks.tasks.list(parent_run=run_id)
    _, key = await container.keys.create("browser", "operator")
    app = create_app(
        container.settings, container=container, options=ApiOptions(rate_limit="10000/minute")
    )
    upload = tmp_path / "notes.md"
    upload.write_bytes(NOTES)

    async with serve(app) as host, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page(
                accept_downloads=True, viewport={"width": 1400, "height": 900}
            )
            base = f"http://{host}/"
            await _sign_in(page, base, key)
            await page.goto(f"{base}#/runs/{run_id}")
            await expect(page.locator('[data-testid="run-status"]')).to_have_attribute(
                "data-status", "succeeded", timeout=WAIT_MS
            )
            # The child on the step's node in the DAG, and under the step once it is selected.
            await expect(page.get_by_test_id("dag-node-split-delegated")).to_have_text(
                "↳ 1 delegated task", timeout=WAIT_MS
            )
            await page.get_by_test_id("dag-node-split").click()
            delegated = page.get_by_role("region", name="Delegated tasks")
            await expect(delegated.get_by_test_id("delegated-task")).to_have_count(1)
            await expect(delegated).to_contain_text("helper")

            # The run's workspace: upload a file, see it listed, download it back unchanged.
            files = page.get_by_role("region", name="Workspace files")
            await files.get_by_label("Upload folder").fill("inbox")
            await files.get_by_label("Upload a file").set_input_files(str(upload))
            await expect(files.get_by_role("button", name="inbox/notes.md")).to_be_visible(
                timeout=WAIT_MS
            )
            async with page.expect_download() as waited:
                await files.get_by_role("button", name="inbox/notes.md").click()
            download = await waited.value
            assert download.suggested_filename == "notes.md"
            saved = await download.path()
            assert await asyncio.to_thread(Path(saved).read_bytes) == NOTES

            # A type the server refuses: its message is shown, nothing is listed.
            bad = tmp_path / "tool.exe"
            bad.write_bytes(b"MZ")
            await files.get_by_label("Upload a file").set_input_files(str(bad))
            await expect(files.get_by_role("alert")).to_contain_text("may not be uploaded")
            await expect(files.get_by_role("button", name="inbox/tool.exe")).to_have_count(0)

            # The child's own page: it works in its parent run's folder (a task group shares
            # one workspace), so the file uploaded on the run page is there too.
            await delegated.get_by_role("link", name="Count the bees").click()
            await page.wait_for_url(f"**/tasks/{child.id}", timeout=WAIT_MS)
            task_files = page.get_by_role("region", name="Workspace files")
            await expect(task_files.get_by_role("button", name="inbox/notes.md")).to_be_visible(
                timeout=WAIT_MS
            )
        finally:
            await browser.close()
