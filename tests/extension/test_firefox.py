"""The extension's journeys in real Firefox ESR, as test_sign_in and test_check_video run them in
Chromium: sign in and out on the options page, a check of a `<video src>` and of `blob:` videos
inside posts with progress and verdict in the in-page panel, and the popup's list.

Firefox runs the background as an event page (manifest `background.scripts`). Headless Firefox
cannot click its own context menu, so, as in Chromium, the test calls the menu's click handler
in the background (reached from an extension tab through runtime.getBackgroundPage()).
Extension tabs are opened from Firefox's chrome scope: BiDi refuses to navigate a content tab
to moz-extension://.
"""

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.extension.site import Site
from tests.extension.test_check_video import RECORD_PANEL, VERDICT_TEXT, analysis_as, no_verdict
from tests.firefox import Firefox, Page, firefox
from tests.live import JOB_TIMEOUT_S, PASSWORD, LiveServer

pytestmark = pytest.mark.browser

ADDON_ID = "unmask@unmask.invalid"
ADDON_UUID = "0c2d1f6e-7a44-4b1c-9a55-3f1e0b6d8c21"  # fixed by pref, so page URLs are known


@dataclass
class FirefoxExtension:
    browser: Firefox
    background_tab: Page  # an extension page: the way in to the event page's globals

    def page_url(self, path: str) -> str:
        return f"moz-extension://{ADDON_UUID}/{path}"

    def open_extension_page(self, path: str) -> Page:
        url = self.page_url(path)
        tree = self.browser.command("browsingContext.getTree", {"moz:scope": "chrome"})
        window = Page(self.browser, tree["contexts"][0]["context"])
        window.evaluate(
            """(url) => { gBrowser.selectedTab = gBrowser.addTab(url,
                 {triggeringPrincipal: Services.scriptSecurityManager.getSystemPrincipal()}); }""",
            url,
        )
        for _ in range(100):
            tabs = self.browser.command("browsingContext.getTree", {"maxDepth": 0})["contexts"]
            found = [t["context"] for t in tabs if t["url"] == url]
            if found:
                page = Page(self.browser, found[-1])
                page.wait_for("() => document.readyState === 'complete'")
                return page
            time.sleep(0.1)
        raise AssertionError(f"{url} did not open")

    def background(self, function: str, *args: Any) -> Any:
        """`function(background, ...args)` with the event page's global object."""
        return self.background_tab.evaluate(
            "async (...args) => (" + function + ")(await browser.runtime.getBackgroundPage(), "
            "...args)",
            *args,
        )

    def stored(self, key: str) -> Any:
        return self.background_tab.evaluate(
            "async (key) => (await browser.storage.local.get(key))[key] ?? null", key
        )

    def use_account(self, server: LiveServer, username: str) -> None:
        auth = {"server": server.url, "token": server.token(username), "username": username}
        self.background_tab.evaluate("(auth) => browser.storage.local.set({auth})", auth)

    def open_site(self, url: str) -> tuple[Page, int]:
        page = self.browser.new_page()
        page.add_init_script(RECORD_PANEL)
        page.goto(url)
        tab = self.background_tab.evaluate(
            "async (url) => (await browser.tabs.query({})).find((t) => t.url === url).id", url
        )
        return page, tab

    def click_menu(self, tab_id: int, info: dict) -> dict:
        """What Firefox does when "Check this video with Unmask" is clicked in that tab."""
        return self.background(
            """async (bg, tabId, info) => {
                const tab = await browser.tabs.get(tabId);
                return bg.unmask.onMenuClicked({menuItemId: bg.unmask.MENU_ID, frameId: 0,
                                                ...info}, tab);
            }""",
            tab_id,
            info,
        )


@pytest.fixture
def fx(extension_dir: Path, tmp_path: Path) -> Iterator[FirefoxExtension]:
    """Firefox ESR with the extension installed as a temporary add-on, on a fresh profile."""
    uuids = json.dumps({ADDON_ID: ADDON_UUID})
    with firefox(tmp_path / "profile", {"extensions.webextensions.uuids": uuids}) as browser:
        assert browser.install_extension(extension_dir) == ADDON_ID
        extension = FirefoxExtension(browser, background_tab=None)  # type: ignore[arg-type]
        extension.background_tab = extension.open_extension_page("popup/popup.html")
        yield extension


def finished_panel(page: Page, live_site: LiveServer, video_site: Site) -> dict:
    """The finished panel's text and box; a failed or stuck check fails the test with the states
    the panel went through and the logs of the server and the video site."""
    try:
        panel = page.wait_for(
            """() => { const p = document.querySelector(
                    '.unmask-panel[data-status="done"], .unmask-panel[data-status="failed"]');
                if (!p) return null;
                const text = (c) => (p.querySelector(c) || {}).textContent || "";
                const r = p.getBoundingClientRect();
                return {status: p.dataset.status,
                        verdict: text('.unmask-panel__verdict'),
                        probability: text('.unmask-panel__probability'),
                        link: (p.querySelector('a.unmask-panel__link') || {}).href || "",
                        x: r.x, y: r.y, width: r.width, height: r.height}; }""",
            timeout_s=JOB_TIMEOUT_S,
        )
    except TimeoutError:
        panel = {"status": "still running"}
    if panel["status"] != "done":
        raise no_verdict(page.evaluate("() => window.unmaskSeen"), live_site, video_site)
    return panel


def assert_shows_result(panel: dict, result: dict, live_site: LiveServer) -> None:
    assert panel["verdict"] == VERDICT_TEXT[result["verdict"]]
    if result["fake_probability"] is not None:
        percent = round(result["fake_probability"] * 100)
        assert panel["probability"] == f"Fake probability: {percent}%"
    assert panel["link"] == f"{live_site.url}/analyses/{result['id']}/"


def box_of(page: Page, selector: str) -> dict:
    return page.evaluate(
        """(s) => { const r = document.querySelector(s).getBoundingClientRect();
                    return {x: r.x, y: r.y, width: r.width, height: r.height}; }""",
        selector,
    )


def test_sign_in_through_options_page_and_sign_out_revokes_the_token_in_firefox(
    fx: FirefoxExtension, live_site: LiveServer
):
    page = fx.open_extension_page("options/options.html")
    # The page fills its default server from storage once loaded; typing before that loses.
    assert page.wait_for("() => document.getElementById('server').value") == (
        "http://127.0.0.1:8000"
    )
    page.fill("#server", live_site.url + "/")
    page.fill("#username", "alice")
    page.fill("#password", "not-the-password")
    page.click("#sign-in")
    message = page.wait_for(
        "() => document.querySelector('#message.error')?.textContent", timeout_s=15
    )
    assert "username or password" in message
    assert fx.stored("auth") is None

    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for("() => document.getElementById('who').textContent === 'alice'", timeout_s=15)
    assert page.evaluate("() => document.getElementById('where').textContent") == live_site.url
    token = fx.stored("auth")["token"]
    headers = {"Authorization": f"Token {token}"}
    listed = requests.get(f"{live_site.url}/api/v1/auth/tokens/", headers=headers, timeout=10)
    body = listed.json()
    current = [t for t in (body["results"] if isinstance(body, dict) else body) if t["current"]]
    assert [t["device"] for t in current] == ["Unmask extension (Firefox)"]
    assert token not in page.evaluate("() => document.documentElement.outerHTML")

    page.click("#sign-out")
    page.wait_for(
        "() => document.getElementById('message').textContent.includes('token was revoked')",
        timeout_s=15,
    )
    assert page.evaluate("() => !document.getElementById('sign-in-form').hidden")
    assert fx.stored("auth") is None
    after = requests.get(f"{live_site.url}/api/v1/analyses/", headers=headers, timeout=10)
    assert after.status_code == 401, "the server must refuse a token the extension revoked"


def test_videos_are_checked_and_the_verdict_shown_in_place_in_firefox(
    fx: FirefoxExtension, live_site: LiveServer, video_site, screens: Path
):
    fx.use_account(live_site, "bob")
    token = live_site.token("bob")

    # A direct <video src>: the panel follows progress to the verdict, on the video.
    page, tab = fx.open_site(video_site.url("/direct.html?run=firefox"))
    source = video_site.url("/clip.mp4?run=firefox")
    job = fx.click_menu(tab, {"srcUrl": source, "mediaType": "video", "pageUrl": page.url})
    assert job["url"] == source and job.get("analysisId"), job
    panel = finished_panel(page, live_site, video_site)
    result = analysis_as(live_site, token, job["analysisId"])
    assert result["status"] == "done" and result["source_url"] == source
    assert_shows_result(panel, result, live_site)
    seen = page.evaluate("() => window.unmaskSeen")
    assert any(not entry.startswith(("done|", "failed|")) for entry in seen), seen
    video = box_of(page, "#v")
    assert video["x"] <= panel["x"] <= video["x"] + video["width"]
    assert video["y"] <= panel["y"] <= video["y"] + video["height"]
    page.screenshot(screens / "panel-firefox.png")
    badge = fx.background_tab.evaluate("(tabId) => browser.action.getBadgeText({tabId})", tab)
    assert badge in {"FAKE", "OK", "?", "—"}

    # blob: videos inside posts: the server gets each post's permalink.
    feed, feed_tab = fx.open_site(video_site.url("/feed.html?run=firefox-blob"))
    feed.wait_for("() => document.body.dataset.ready")
    blob = feed.evaluate("() => document.getElementById('v1').src")
    assert blob.startswith("blob:")
    first = fx.click_menu(feed_tab, {"srcUrl": blob, "mediaType": "video", "pageUrl": feed.url})
    permalink = video_site.url("/post/1?run=firefox-blob")
    assert first["url"] == permalink
    blob_panel = finished_panel(feed, live_site, video_site)
    assert analysis_as(live_site, token, first["analysisId"])["source_url"] == permalink
    post = box_of(feed, "#post-1")
    assert post["y"] <= blob_panel["y"] <= post["y"] + post["height"]
    # A player's overlay hides the video from the menu: the right-click still finds the post.
    feed.click("#post-2 .cover", button="right")
    feed.press("Escape")  # close the (invisible, headless) context menu
    second = fx.click_menu(feed_tab, {"pageUrl": feed.url})
    assert second["url"] == video_site.url("/post/2?run=firefox-blob")
    assert second.get("analysisId"), second

    # The popup lists the checks with their verdicts and links.
    popup = fx.open_extension_page("popup/popup.html")
    row = popup.wait_for(
        """(key) => { const li = document.querySelector(`li[data-key="${key}"]`);
            return li && li.querySelector('.job-state').dataset.status === 'done'
              ? {state: li.querySelector('.job-state').textContent,
                 href: li.querySelector('a').href} : null; }""",
        job["key"],
    )
    assert VERDICT_TEXT[result["verdict"]] in row["state"]
    assert row["href"] == panel["link"]
