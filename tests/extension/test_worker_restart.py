"""The browser stops the extension's service worker in the middle of a check (here through the
DevTools protocol, as Chromium does to idle or updated workers): the websocket it followed the
check on is gone, yet the panel still ends with the verdict, because the panel wakes the worker
and the new worker resumes the unfinished check from storage."""

import time

import pytest
import requests
from playwright.sync_api import expect

from tests.extension.test_check_video import (
    agree_to_upload,
    assert_shows_result,
    finished_panel,
    open_page,
    upload_offered,
    uploaded_check,
)

pytestmark = pytest.mark.browser

JOBS = "async () => (await chrome.storage.local.get('jobs')).jobs || []"


def stop_worker(browser, page) -> list[str]:
    """Stop the extension's worker as Chromium does; returns the running states it goes
    through, which keep being recorded (a restart shows as "running" after "stopped")."""
    states: list[str] = []
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
    return states


def test_a_worker_stopped_mid_check_resumes_it_and_the_panel_shows_the_verdict(
    browser, live_site, video_site
):
    browser.use_account(live_site, "sam")
    # The site answers this video after a few seconds: the check is surely still running below.
    page, tab = open_page(browser, video_site.url("/direct.html?run=restart-slow"))
    source = video_site.url("/clip.mp4?run=restart-slow")
    job = browser.click_menu(tab, {"srcUrl": source, "mediaType": "video", "pageUrl": page.url})
    assert job.get("analysisId"), job

    states = stop_worker(browser, page)
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


def test_an_upload_the_stopped_worker_lost_is_offered_again(browser, live_site, video_site):
    page, job, upload = upload_offered(browser, live_site, video_site, "restart-stall")
    agree_to_upload(page, upload)
    # The download stalls, so the worker is surely mid-upload when it is stopped.
    deadline = time.monotonic() + 20
    while not any("restart-stall (empty) -> 200" in line for line in video_site.seen):
        assert time.monotonic() < deadline, video_site.log_tail()
        page.wait_for_timeout(100)
    stop_worker(browser, page)

    # The panel wakes a new worker, which cannot resume a half-done upload: it says so and
    # keeps the user's consent, so one click uploads again.
    again = page.locator('.unmask-panel[data-status="failed"] .unmask-panel__upload')
    again.wait_for(timeout=30_000)
    expect(page.locator(".unmask-panel__error")).to_have_text(
        "The check was interrupted. Try again."
    )
    agree_to_upload(page, again)
    uploaded_check(page, job, browser, live_site, video_site)


def test_an_upload_agreed_to_after_the_worker_stopped_goes_through(browser, live_site, video_site):
    # The user reads the offer for a while and Chrome stops the idle worker meanwhile: the
    # click shows at once and wakes a new worker, which uploads.
    page, job, upload = upload_offered(browser, live_site, video_site, "restart-consent")
    stop_worker(browser, page)
    agree_to_upload(page, upload)
    stored = uploaded_check(page, job, browser, live_site, video_site)
    assert stored["kind"] == "upload"
