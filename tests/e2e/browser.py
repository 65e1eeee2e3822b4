"""A real browser (Debian's Chromium, driven by Playwright) on the agent
console of the running stack: one agent per browser context, signed in through
the login page as a person would."""

import os
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
# Generous: a real Rasa turn takes seconds, and the page refetches on events.
TIMEOUT_MS = 30_000
# Set in the page once it is open: still there later means it was never reloaded.
MARKER = "__e2eConsoleMarker"


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Chromium; skipped where it is not installed, except in CI."""
    if not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


class AgentConsole:
    """One agent's console in its own browser context (its own cookies).

    Records what would otherwise go unnoticed: navigations of the page after
    it opened, script errors, the browser console's errors and the requests
    the server refused.
    """

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.base_url = base_url
        self.context: BrowserContext = browser.new_context(
            viewport=VIEWPORT, base_url=base_url
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page: Page = self.context.new_page()
        self.navigations: list[str] = []
        self.script_errors: list[str] = []
        self.console_errors: list[str] = []
        self.failed_requests: list[str] = []
        self.page.on("pageerror", lambda error: self.script_errors.append(str(error)))
        self.page.on(
            "response",
            lambda response: self.failed_requests.append(
                f"{response.request.method} {response.url} -> {response.status}"
            )
            if response.status >= 400
            else None,
        )
        self.page.on("console", self._on_console)

    def _on_console(self, message: ConsoleMessage) -> None:
        where = message.location.get("url") or ""
        # Chromium asks for /favicon.ico by itself; the console has none.
        if message.type == "error" and not where.endswith("/favicon.ico"):
            self.console_errors.append(f"{message.text} ({where})")

    def close(self) -> None:
        self.context.close()

    def log_in(self, username: str, password: str, live: bool = True) -> None:
        """Signs in on the login page and waits for the console (and for its
        live updates, unless ``live`` is false)."""
        page = self.page
        page.goto("/console/login")
        page.get_by_test_id("login-username").fill(username)
        page.get_by_test_id("login-password").fill(password)
        page.get_by_test_id("login-submit").click()
        page.wait_for_url("**/console")
        expect(page.get_by_test_id("me-name")).not_to_have_text("")
        if live:
            expect(page.locator("#live-status")).to_have_text("live")
        page.on(
            "framenavigated",
            lambda frame: self.navigations.append(frame.url)
            if frame == page.main_frame
            else None,
        )
        page.evaluate(f"window.{MARKER} = 'still the same page'")

    def never_reloaded(self) -> bool:
        marker = self.page.evaluate(f"window.{MARKER}")
        return marker == "still the same page" and not self.navigations

    def queue_row(self, list_testid: str, conversation_id: str):
        return self.page.get_by_test_id(list_testid).locator(
            f"[data-testid='queue-row'][data-conversation-id='{conversation_id}']"
        )

    def transcript(self, author: str | None = None):
        selector = "[data-testid='msg']"
        if author is not None:
            selector += f"[data-author='{author}']"
        return self.page.get_by_test_id("transcript").locator(selector)

    def header_claim(self):
        """The Claim button of the open conversation (not the queue row's)."""
        return self.page.locator(".conversation-head").get_by_test_id("claim-button")

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / name
        self.page.screenshot(path=str(path))
        return path


def tiny_png(width: int = 64, height: int = 48) -> bytes:
    """A real PNG (a colour gradient), so the console can show the thumbnail."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 4, y * 5, 160)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
