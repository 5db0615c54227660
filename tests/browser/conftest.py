"""Headless Chromium for the browser tests: Debian's ``chromium`` (``make dev`` installs it), driven by Playwright.

Tests skip, saying why, only where Chromium or Playwright is missing.  Screenshots go to ``test-artifacts/``
(:func:`helpers.screenshot`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed: run `make chromium` (Debian's chromium package) for the browser tests")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: run `make dev`")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.requests = []  # every URL the page asked for: offline pages ask only for file: and data: URLs
    page.on("request", lambda request: page.requests.append(request.url))
    yield page
    context.close()
