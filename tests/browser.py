"""Open a page in a real headless Chromium: Debian's ``chromium`` (installed by ``.ci/run``),
driven by Playwright's Python API (its own browser download is never used).

``view(page, screenshot)`` loads a local HTML file with the network blocked and returns
what a reader sees: the page's visible text, a full-page screenshot (PNG), its size, the
selectors found, and every console message of type error or uncaught page error.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageView:
    text: str  # the page's visible text (document.body.innerText)
    screenshot: Path
    width: int
    height: int
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions
    requests: list[str] = field(default_factory=list)  # every URL the page tried to load
    counts: dict[str, int] = field(default_factory=dict)  # selector -> number of matches


def view(page: Path, screenshot: Path, selectors: tuple[str, ...] = (), width: int = 1200) -> PageView:
    """Load ``page`` (a local file) in headless Chromium and look at it."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "no chromium on this machine: `apt-get install chromium` (.ci/run does)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            tab = browser.new_page(viewport={"width": width, "height": 800})
            errors: list[str] = []
            requests: list[str] = []
            tab.on("console", lambda message: message.type == "error" and errors.append(message.text))
            tab.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
            tab.on("request", lambda request: requests.append(request.url))
            tab.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:"))
                      else route.abort())
            tab.goto(Path(page).resolve().as_uri())
            tab.screenshot(path=str(screenshot), full_page=True)
            size = tab.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            counts = {selector: tab.locator(selector).count() for selector in selectors}
            return PageView(tab.inner_text("body"), Path(screenshot), size[0], size[1], errors, requests, counts)
        finally:
            browser.close()
