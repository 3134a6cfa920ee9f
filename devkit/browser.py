"""A real browser for the dashboard's test and its screenshot: Debian's chromium
(.ci/install-chromium), driven by Playwright, which downloads no browser of its own."""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, sync_playwright

# Headless, as root, and quiet: no sandbox (root), no calls home, no GPU.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--no-first-run",
]


def chromium_path() -> str | None:
    return shutil.which("chromium")


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        raise FileNotFoundError("chromium is not installed: run .ci/install-chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
