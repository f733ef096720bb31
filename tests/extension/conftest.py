"""Fixtures for the extension's end-to-end tests: the live platform (`live_site`, a daphne
subprocess from tests/conftest.py), a small website with face videos, and headless Debian
Chromium with the unpacked extension loaded. Nothing is mocked: the extension talks HTTP and
websockets to the real server, which downloads the site's video and runs the engine on it."""

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.extension.site import Site, SiteHandler
from tests.live import LiveServer
from tests.support import REPO_ROOT, real_video, require

EXTENSION_SOURCE = REPO_ROOT / "extension"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def video_site() -> Iterator[Site]:
    seen: list[str] = []
    video = real_video("vr-3.mp4").read_bytes()
    handler = type("Handler", (SiteHandler,), {"video": video, "seen": seen, "stalls": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(port=server.server_address[1], seen=seen)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def screens(tmp_path: Path) -> Path:
    """Where the panel screenshots go: UNMASK_SCREENSHOTS to keep them, else the test's tmp."""
    folder = Path(os.environ.get("UNMASK_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def extension_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """extension/ as shipped: its host permissions (127.0.0.1 and localhost, any port) already
    cover the test server and site, which a user reaches through the options page's prompt and
    activeTab. The copy keeps test runs from writing into the source folder."""
    target = tmp_path_factory.mktemp("extension") / "unmask"
    shutil.copytree(EXTENSION_SOURCE, target)
    return target


@dataclass
class Browser:
    context: Any
    worker: Any
    extension_id: str
    log: list[str] = field(default_factory=list)  # the service worker's console, its stops

    def watch(self, worker: Any) -> None:
        self.log.append("the service worker started")
        worker.on("console", lambda message: self.log.append(f"{message.type}: {message.text}"))
        worker.on("close", lambda _: self.log.append("the service worker stopped"))

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log[-lines:]) or "(nothing logged)"

    def page_url(self, path: str) -> str:
        return f"chrome-extension://{self.extension_id}/{path}"

    def tab_id(self, url: str) -> int:
        return self.worker.evaluate("async (url) => (await chrome.tabs.query({url}))[0].id", url)

    def use_account(self, server: LiveServer, username: str) -> None:
        """Store a device token as a sign-in would (test_sign_in covers the sign-in itself)."""
        auth = {"server": server.url, "token": server.token(username), "username": username}
        self.worker.evaluate("(auth) => chrome.storage.local.set({auth})", auth)

    def stored(self, key: str) -> Any:
        return self.worker.evaluate(
            "async (key) => (await chrome.storage.local.get(key))[key]", key
        )

    def click_menu(self, tab_id: int, info: dict) -> dict:
        """What Chromium does when "Check this video with Unmask" is clicked in that tab."""
        return self.worker.evaluate(
            """async ([tabId, info]) => {
                const tab = await chrome.tabs.get(tabId);
                return globalThis.unmask.onMenuClicked({menuItemId: globalThis.unmask.MENU_ID,
                                                        frameId: 0, ...info}, tab);
            }""",
            [tab_id, info],
        )


@pytest.fixture
def browser(extension_dir: Path, tmp_path: Path) -> Iterator[Browser]:
    """Headless Debian Chromium with the extension loaded, on a fresh profile."""
    require(CHROMIUM.is_file(), f"{CHROMIUM} not found (apt install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                f"--disable-extensions-except={extension_dir}",
                f"--load-extension={extension_dir}",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
            ignore_default_args=["--disable-extensions"],
        )
        try:
            workers = context.service_workers
            worker = workers[0] if workers else context.wait_for_event("serviceworker")
            browser = Browser(context, worker, extension_id=worker.url.split("/")[2])
            browser.watch(worker)
            context.on("serviceworker", browser.watch)
            yield browser
        finally:
            context.close()
