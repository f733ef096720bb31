"""The browser stops the extension's service worker in the middle of a check (here through the
DevTools protocol, as Chromium does to idle or updated workers): the websocket it followed the
check on is gone, yet the panel still ends with the verdict, because the panel wakes the worker
and the new worker resumes the unfinished check from storage."""

import time

import pytest
import requests

from tests.extension.test_check_video import assert_shows_result, finished_panel, open_page

pytestmark = pytest.mark.browser

JOBS = "async () => (await chrome.storage.local.get('jobs')).jobs || []"


def test_a_worker_stopped_mid_check_resumes_it_and_the_panel_shows_the_verdict(
    browser, live_site, video_site
):
    browser.use_account(live_site, "sam")
    # The site answers this video after a few seconds: the check is surely still running below.
    page, tab = open_page(browser, video_site.url("/direct.html?run=restart-slow"))
    source = video_site.url("/clip.mp4?run=restart-slow")
    job = browser.click_menu(tab, {"srcUrl": source, "mediaType": "video", "pageUrl": page.url})
    assert job.get("analysisId"), job

    states = []
    devtools = browser.context.new_cdp_session(page)
    devtools.on(
        "ServiceWorker.workerVersionUpdated",
        lambda event: states.extend(v["runningStatus"] for v in event["versions"]),
    )
    devtools.send("ServiceWorker.enable")
    devtools.send("ServiceWorker.stopAllWorkers")
    deadline = time.monotonic() + 10
    while "stopped" not in states and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert "stopped" in states, states
    in_flight = page.eval_on_selector(".unmask-panel", "panel => panel.dataset.status")
    assert in_flight not in {"done", "failed"}, in_flight

    panel = finished_panel(page, live_site, video_site, browser)
    assert "running" in states[states.index("stopped") :], f"the worker never restarted: {states}"
    result = requests.get(
        f"{live_site.url}/api/v1/analyses/{job['analysisId']}/",
        headers=live_site.token_headers("sam"),
        timeout=10,
    ).json()
    assert result["status"] == "done"
    assert_shows_result(panel, result, live_site)
    extension_page = browser.context.new_page()
    extension_page.goto(browser.page_url("popup/popup.html"))
    stored = next(j for j in extension_page.evaluate(JOBS) if j["key"] == job["key"])
    assert stored["status"] == "done" and stored["verdict"] == result["verdict"]
