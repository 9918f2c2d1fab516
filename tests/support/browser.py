"""Pages in a real browser: Debian's ``chromium`` driven by Playwright (from PyPI), launched
with ``executable_path`` (Playwright's own browser download is not reachable here).

``.ci/run`` installs chromium; on a developer's machine without it the browser tests are
skipped, but in CI (``CI`` set) a missing browser fails them, so a green CI run means they ran.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, sync_playwright


def chromium_path() -> str:
    """The chromium executable; skips the test (fails it in CI) when there is none."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    return found


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless chromium (no sandbox: tests run as root in CI), closed afterwards."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            browser.close()
