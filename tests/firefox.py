"""Headless Firefox ESR driven over WebDriver BiDi, which Firefox speaks itself: no geckodriver,
nothing downloaded. Firefox starts with --remote-debugging-port; this small client sends BiDi
commands over `websockets` (webExtension.install, browsingContext.*, script.*, input.*).

Values cross as JSON: every evaluation runs `fn(...args)` in the page and returns
JSON.stringify of its (awaited) result.
"""

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.live import free_port, stop_process
from tests.support import require

FIREFOX = Path("/usr/bin/firefox-esr")
KEYS = {
    "Enter": "\ue007",
    "Escape": "\ue00c",
    "Tab": "\ue004",
    "ArrowLeft": "\ue012",
    "ArrowRight": "\ue014",
}
BUTTONS = {"left": 0, "right": 2}
# A quiet profile: no first-run pages, telemetry, updates or background downloads.
PREFS = {
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True,
    "extensions.update.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "browser.safebrowsing.update.enabled": False,
    "media.autoplay.default": 0,
}


class BiDiError(RuntimeError):
    pass


class Firefox:
    """One Firefox process and its BiDi session."""

    def __init__(self, profile: Path, prefs: dict[str, Any]) -> None:
        profile.mkdir(parents=True, exist_ok=True)
        lines = (f"user_pref({json.dumps(k)}, {json.dumps(v)});" for k, v in prefs.items())
        (profile / "user.js").write_text("\n".join(lines) + "\n")
        port = free_port()
        self.closing = ExitStack()
        self.log = (profile / "firefox.log").open("w")
        self.process = subprocess.Popen(
            [str(FIREFOX), "--headless", "--no-remote", "--profile", str(profile),
             f"--remote-debugging-port={port}", "-remote-allow-system-access", "about:blank"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        self.socket = self._connect(f"ws://127.0.0.1:{port}/session")
        self.next_id = 0
        self.events: list[dict] = []
        self.command("session.new", {"capabilities": {}})

    def _connect(self, url: str, timeout_s: float = 60) -> ClientConnection:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self.closing.enter_context(connect(url, max_size=None, open_timeout=5))
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def command(self, method: str, params: dict[str, Any], timeout_s: float = 60) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout_s
        while True:
            message = json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") != self.next_id:
                self.events.append(message)
                continue
            if message.get("type") == "error":
                raise BiDiError(f"{method}: {message['error']}: {message.get('message')}")
            return message["result"]

    def install_extension(self, path: Path) -> str:
        """A temporary add-on from an unpacked folder, as about:debugging loads one."""
        result = self.command(
            "webExtension.install", {"extensionData": {"type": "path", "path": str(path)}}
        )
        return result["extension"]

    def set_cookie(self, name: str, value: str, domain: str) -> None:
        cookie = {"name": name, "value": {"type": "string", "value": value}, "domain": domain}
        self.command("storage.setCookie", {"cookie": cookie})

    def new_page(self) -> "Page":
        context = self.command("browsingContext.create", {"type": "tab"})["context"]
        return Page(self, context)

    def close(self) -> None:
        with suppress(Exception):  # already gone or closing: the process is stopped below
            self.command("browser.close", {}, timeout_s=10)
        self.closing.close()
        stop_process(self.process, timeout_s=10)
        self.log.close()


class Page:
    """One tab: navigate, evaluate, click and type, screenshot."""

    def __init__(self, browser: Firefox, context: str) -> None:
        self.browser = browser
        self.context = context

    def add_init_script(self, source: str) -> None:
        self.browser.command(
            "script.addPreloadScript",
            {"functionDeclaration": f"() => {{ {source} }}", "contexts": [self.context]},
        )

    def goto(self, url: str) -> None:
        self.browser.command(
            "browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"}
        )

    @property
    def url(self) -> str:
        return self.evaluate("() => location.href")

    def evaluate(self, function: str, *args: Any) -> Any:
        """`function(...args)` in the page, awaited; its result through JSON."""
        wrapper = (
            "async (json) => { const value = await (" + function + ")(...JSON.parse(json));"
            " return JSON.stringify(value === undefined ? null : value); }"
        )
        result = self.browser.command(
            "script.callFunction",
            {
                "functionDeclaration": wrapper,
                "arguments": [{"type": "string", "value": json.dumps(list(args))}],
                "target": {"context": self.context},
                "awaitPromise": True,
                "resultOwnership": "none",
            },
        )
        if result["type"] == "exception":
            raise BiDiError(result["exceptionDetails"]["text"])
        return json.loads(result["result"]["value"])

    def wait_for(self, function: str, *args: Any, timeout_s: float = 30) -> Any:
        """Poll `function(...args)` until it returns something truthy; return that."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = self.evaluate(function, *args)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"still false after {timeout_s} s: {function}")
            time.sleep(0.2)

    def center(self, selector: str) -> tuple[int, int]:
        box = self.wait_for(
            """(selector) => { const node = document.querySelector(selector);
                if (!node) return null;
                node.scrollIntoView({block: "center"});
                const r = node.getBoundingClientRect();
                return r.width && r.height ? [r.x + r.width / 2, r.y + r.height / 2] : null; }""",
            selector,
        )
        return round(box[0]), round(box[1])

    def click(self, selector: str, button: str = "left") -> None:
        self.click_at(*self.center(selector), button=button)

    def click_at(self, x: int, y: int, button: str = "left") -> None:
        pointer = [
            {"type": "pointerMove", "x": x, "y": y},
            {"type": "pointerDown", "button": BUTTONS[button]},
            {"type": "pointerUp", "button": BUTTONS[button]},
        ]
        self._actions([{"type": "pointer", "id": "mouse", "actions": pointer}])

    def type(self, text: str) -> None:
        keys = []
        for char in text:
            keys += [{"type": "keyDown", "value": char}, {"type": "keyUp", "value": char}]
        self._actions([{"type": "key", "id": "keyboard", "actions": keys}])

    def press(self, key: str) -> None:
        self.type(KEYS[key])

    def fill(self, selector: str, text: str) -> None:
        self.evaluate(
            "(s) => { const n = document.querySelector(s); n.focus(); n.select(); }", selector
        )
        self.press_delete()
        self.type(text)

    def press_delete(self) -> None:
        self.type("\ue017")  # Delete: clears the selected text

    def _actions(self, actions: list[dict]) -> None:
        self.browser.command("input.performActions", {"context": self.context, "actions": actions})
        self.browser.command("input.releaseActions", {"context": self.context})

    def screenshot(self, path: Path) -> Path:
        data = self.browser.command("browsingContext.captureScreenshot", {"context": self.context})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def close(self) -> None:
        self.browser.command("browsingContext.close", {"context": self.context})


@contextmanager
def firefox(profile: Path, prefs: dict[str, Any] | None = None) -> Iterator[Firefox]:
    require(FIREFOX.is_file(), f"{FIREFOX} not found (apt install firefox-esr)")
    browser = Firefox(profile, {**PREFS, **(prefs or {})})
    try:
        yield browser
    finally:
        browser.close()
