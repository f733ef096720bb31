"""The right-click flow end to end: the menu handler in the service worker, the in-page panel,
the badge and the popup, against the live platform that fetches and scores the video."""

import contextlib
import re

import pytest
import requests
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.live import JOB_TIMEOUT_S
from tests.quiet_socket import reroute_sockets
from unmask.analyses.models import Verdict

pytestmark = pytest.mark.browser

SERVER_STAGES = {"queued", "fetching", "decoding", "detecting_faces", "scoring"}
VERDICT_TEXT = dict(Verdict.choices)  # the extension shows the server's words
VERDICT_BADGE = {"fake": "FAKE", "real": "OK", "uncertain": "?", "no_face": "—"}

# Runs in the page before its own scripts: records every state the panel shows.
RECORD_PANEL = """
window.unmaskSeen = [];
new MutationObserver(() => {
  for (const panel of document.querySelectorAll(".unmask-panel")) {
    const stage = panel.querySelector(".unmask-panel__stage");
    const entry = `${panel.dataset.status}|${stage ? stage.textContent : ""}`;
    if (window.unmaskSeen.at(-1) !== entry) window.unmaskSeen.push(entry);
  }
}).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""


def open_page(browser, url: str):
    page = browser.context.new_page()
    page.add_init_script(RECORD_PANEL)
    page.goto(url)
    return page, browser.tab_id(page.url)


def finished_panel(page, live_site, *witnesses):
    """The panel once its check has finished; a failed or stuck check fails the test with the
    states the panel went through and the logs of the server and of `witnesses` (the video
    site, the browser), so a rare failure can be read."""
    finished = page.locator(".unmask-panel:is([data-status=done], [data-status=failed])")
    with contextlib.suppress(PlaywrightTimeout):
        finished.first.wait_for(timeout=JOB_TIMEOUT_S * 1000)
    panel = page.locator('.unmask-panel[data-status="done"]')
    if not panel.count():
        raise no_verdict(page.evaluate("window.unmaskSeen"), live_site, *witnesses)
    return panel


def no_verdict(seen: list[str], *witnesses) -> AssertionError:
    """The failure of a panel that failed or stuck: what it showed, and each witness's log
    (anything with `log_tail()`: the server, the video site, the browser)."""
    logs = "".join(f"\n{type(w).__name__} log:\n{w.log_tail()}" for w in witnesses)
    return AssertionError(f"the panel never showed a verdict; it showed {seen}{logs}")


def analysis(live_site, browser, analysis_id: str) -> dict:
    """The analysis as the API shows it to the user signed in to the extension."""
    return analysis_as(live_site, browser.stored("auth")["token"], analysis_id)


def analysis_as(live_site, token: str, analysis_id: str) -> dict:
    response = requests.get(
        f"{live_site.url}/api/v1/analyses/{analysis_id}/",
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def assert_shows_result(panel, result: dict, live_site) -> None:
    expect(panel.locator(".unmask-panel__verdict")).to_have_text(VERDICT_TEXT[result["verdict"]])
    if result["fake_probability"] is not None:
        percent = round(result["fake_probability"] * 100)
        expect(panel.locator(".unmask-panel__probability")).to_have_text(
            f"Fake probability: {percent}%"
        )
    link = panel.locator("a.unmask-panel__link")
    expect(link).to_have_attribute("href", re.compile("^" + re.escape(live_site.url) + "/"))
    assert link.get_attribute("href").endswith(
        result["result_url"].split("//")[-1].split("/", 1)[-1]
    )


def assert_progress_was_shown(page, job: dict) -> None:
    seen = page.evaluate("window.unmaskSeen")
    assert any(not entry.startswith(("done|", "failed|")) for entry in seen), seen
    assert seen[-1].startswith("done|"), seen
    assert SERVER_STAGES & set(job["stagesSeen"]), job["stagesSeen"]


def test_video_with_a_direct_source_is_checked_and_the_verdict_shown_in_place(
    browser, live_site, video_site, screens
):
    browser.use_account(live_site, "alice")
    page, tab = open_page(browser, video_site.url("/direct.html?run=direct"))
    source = video_site.url("/clip.mp4?run=direct")

    job = browser.click_menu(tab, {"srcUrl": source, "mediaType": "video", "pageUrl": page.url})

    assert job["url"] == source
    assert job.get("analysisId"), job
    panel = finished_panel(page, live_site, video_site, browser)
    result = analysis(live_site, browser, job["analysisId"])
    assert result["status"] == "done"
    assert result["source_url"] == source
    assert_shows_result(panel, result, live_site)
    stored = next(j for j in browser.stored("jobs") if j["key"] == job["key"])
    assert_progress_was_shown(page, stored)
    # The panel sits on the video it describes.
    video, box = page.locator("#v").bounding_box(), panel.bounding_box()
    assert video["x"] <= box["x"] <= video["x"] + video["width"]
    assert video["y"] <= box["y"] <= video["y"] + video["height"]
    page.screenshot(path=str(screens / "panel-chromium.png"))
    badge = browser.worker.evaluate("(tabId) => chrome.action.getBadgeText({tabId})", tab)
    assert badge == VERDICT_BADGE[result["verdict"]]

    result_link = panel.locator("a.unmask-panel__link").get_attribute("href")

    # The toolbar button checks the page's main video: the same source, found without a click.
    page.bring_to_front()
    toolbar_job = browser.worker.evaluate("globalThis.unmask.checkActiveTab()")
    assert toolbar_job["url"] == source
    assert toolbar_job["tabId"] == tab

    popup = browser.context.new_page()
    popup.goto(browser.page_url("popup/popup.html"))
    row = popup.locator(f'li[data-key="{job["key"]}"]')
    expect(row.locator(".job-state")).to_contain_text(VERDICT_TEXT[result["verdict"]])
    expect(row.locator("a")).to_have_attribute("href", result_link)


def test_a_check_whose_websocket_goes_quiet_still_ends_with_the_verdict(
    browser, live_site, video_site, quiet_socket
):
    # Every progress socket the worker opens reaches a peer that never speaks.
    browser.worker.evaluate(reroute_sockets(quiet_socket.url))
    browser.use_account(live_site, "bob")
    # The site answers this video after a few seconds: the check is surely running when followed.
    page, tab = open_page(browser, video_site.url("/direct.html?run=quiet-slow"))
    source = video_site.url("/clip.mp4?run=quiet-slow")

    job = browser.click_menu(tab, {"srcUrl": source, "mediaType": "video", "pageUrl": page.url})

    assert job.get("analysisId") and job["status"] not in {"done", "failed"}, job
    panel = finished_panel(page, live_site, video_site, browser)
    assert quiet_socket.opened >= 1
    result = analysis(live_site, browser, job["analysisId"])
    assert result["status"] == "done"
    assert_shows_result(panel, result, live_site)


def test_blob_video_is_sent_as_the_permalink_of_its_post(browser, live_site, video_site):
    browser.use_account(live_site, "bob")
    page, tab = open_page(browser, video_site.url("/feed.html?run=blob"))
    page.locator("body[data-ready]").wait_for()
    blob_source = page.eval_on_selector("#v1", "video => video.src")
    assert blob_source.startswith("blob:")

    job = browser.click_menu(
        tab, {"srcUrl": blob_source, "mediaType": "video", "pageUrl": page.url}
    )

    permalink = video_site.url("/post/1?run=blob")
    assert job["url"] == permalink
    panel = finished_panel(page, live_site, video_site, browser)
    result = analysis(live_site, browser, job["analysisId"])
    assert result["source_url"] == permalink
    assert_shows_result(panel, result, live_site)
    post, box = page.locator("#post-1").bounding_box(), panel.bounding_box()
    assert post["y"] <= box["y"] <= post["y"] + post["height"]

    # A player's overlay hides the video from the browser menu: the page-level item must still
    # find the right-clicked post (the panel script remembers the right-click).
    page.click("#post-2 .cover", button="right")
    second = browser.click_menu(tab, {"pageUrl": page.url})
    assert second["url"] == video_site.url("/post/2?run=blob")
    assert second.get("analysisId"), second


def upload_offered(browser, live_site, video_site, run: str, video: str = "clip.mp4"):
    """A members-only video the server could not fetch: the page, the check, and the panel's
    offer to upload the video from the browser."""
    browser.use_account(live_site, "sam")
    page, tab = open_page(browser, video_site.url(f"/members.html?run={run}"))
    source = video_site.url(f"/members/{video}?run={run}")
    job = browser.click_menu(tab, {"srcUrl": source, "mediaType": "video", "pageUrl": page.url})
    upload = page.locator(".unmask-panel__upload")
    upload.wait_for(timeout=JOB_TIMEOUT_S * 1000)
    return page, job, upload


def agree_to_upload(page, button) -> None:
    """Click the panel's upload button. The panel shows the upload at once, before the worker
    answers: no stale "failed" is left to read and the consent cannot be sent twice."""
    shown = len(page.evaluate("window.unmaskSeen"))
    button.click()
    assert page.evaluate("window.unmaskSeen")[shown:][:1] == [
        "uploading|Uploading the video from this browser…"
    ]
    assert not page.locator(".unmask-panel__upload").count()


def uploaded_check(page, job, browser, live_site, video_site) -> dict:
    """The uploaded video's check, once the panel shows its verdict; returns the stored job."""
    panel = finished_panel(page, live_site, video_site, browser)
    stored = next(j for j in browser.stored("jobs") if j["key"] == job["key"])
    result = analysis(live_site, browser, stored["analysisId"])
    assert result["status"] == "done"
    assert not result["source_url"]
    assert result["source_name"] == "clip.mp4"
    assert_shows_result(panel, result, live_site)
    return stored


def test_video_the_server_cannot_fetch_is_uploaded_after_the_user_agrees(
    browser, live_site, video_site
):
    page, job, upload = upload_offered(browser, live_site, video_site, "upload")
    expect(page.locator(".unmask-panel__error")).not_to_be_empty()
    refused = analysis(live_site, browser, job["analysisId"])
    assert refused["status"] == "failed"

    agree_to_upload(page, upload)
    stored = uploaded_check(page, job, browser, live_site, video_site)
    assert stored["kind"] == "upload"
    assert stored["analysisId"] != job["analysisId"]


def test_an_upload_whose_download_stalls_is_tried_again_and_ends_with_the_verdict(
    browser, live_site, video_site
):
    page, job, upload = upload_offered(browser, live_site, video_site, "upload-stall")

    # The site sends half the video to this browser, then nothing: the extension gives up on
    # that connection and downloads it again instead of showing "uploading" for good.
    agree_to_upload(page, upload)
    uploaded_check(page, job, browser, live_site, video_site)
    fetches = [line for line in video_site.seen if "upload-stall (empty)" in line]
    assert len(fetches) == 2, video_site.log_tail()
    assert any("upload-stall stalled until the client left" in line for line in video_site.seen)


def test_an_upload_that_breaks_twice_is_offered_again_and_ends_with_the_verdict(
    browser, live_site, video_site
):
    page, job, upload = upload_offered(browser, live_site, video_site, "upload-stall2")

    agree_to_upload(page, upload)
    failed = page.locator('.unmask-panel[data-status="failed"]')
    failed.wait_for(timeout=JOB_TIMEOUT_S * 1000)
    expect(failed.locator(".unmask-panel__error")).to_have_text(
        "The video stopped arriving while this browser downloaded it."
    )
    expect(failed.locator(".unmask-panel__question")).to_have_text(
        "Try the upload from this browser again?"
    )
    again = failed.locator(".unmask-panel__upload")
    expect(again).to_have_text("Upload again")

    agree_to_upload(page, again)
    uploaded_check(page, job, browser, live_site, video_site)
    fetches = [line for line in video_site.seen if "upload-stall2 (empty)" in line]
    assert len(fetches) == 3, video_site.log_tail()


def test_an_upload_of_a_check_the_extension_has_dropped_is_refused_in_the_panel(
    browser, live_site, video_site
):
    page, job, upload = upload_offered(browser, live_site, video_site, "upload-dropped")
    # The extension keeps the latest 25 checks: this one was dropped while its offer was shown.
    browser.worker.evaluate(
        """async (key) => {
            const {jobs} = await chrome.storage.local.get("jobs");
            await chrome.storage.local.set({jobs: jobs.filter((job) => job.key !== key)});
        }""",
        job["key"],
    )
    agree_to_upload(page, upload)
    expect(page.locator('.unmask-panel[data-status="failed"] .unmask-panel__error')).to_have_text(
        "This check can no longer be uploaded. Check the video again."
    )
    assert not page.locator(".unmask-panel__upload").count()
    assert not any("upload-dropped (empty)" in line for line in video_site.seen)


def test_a_video_over_the_upload_limit_is_refused_without_downloading_it_whole(
    browser, live_site, video_site
):
    page, job, upload = upload_offered(browser, live_site, video_site, "upload-big", "big.mp4")

    agree_to_upload(page, upload)
    failed = page.locator('.unmask-panel[data-status="failed"]')
    failed.wait_for(timeout=JOB_TIMEOUT_S * 1000)
    limit = requests.get(
        f"{live_site.url}/api/v1/analyses/limits/",
        headers=live_site.token_headers("sam"),
        timeout=10,
    ).json()
    expect(failed.locator(".unmask-panel__error")).to_have_text(
        f"The video is larger than the {limit['upload_max_size']} your Unmask server takes."
    )
    # The size has no header to read it from: the download was counted and cut off early.
    sent = [
        line for line in video_site.seen if "big.mp4?run=upload-big" in line and " MB sent" in line
    ]
    assert len(sent) == 1, video_site.log_tail()
    assert int(sent[0].split()[-3]) < 32, sent
    stored = next(j for j in browser.stored("jobs") if j["key"] == job["key"])
    assert stored["status"] == "failed" and not stored.get("canUpload")
