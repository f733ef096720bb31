"""A `blob:` video cannot be fetched by the server, so the extension sends the permalink of the
post around it. One page per site people share deepfakes on (YouTube, X, TikTok, Instagram,
Facebook, Reddit) reproduces that site's markup around its player, with a second post close
by; the test checks the URL the server receives for the right-clicked video on each."""

import pytest

from tests.extension.social import PAGES
from tests.extension.test_check_video import analysis, open_page
from tests.live import wait_for

pytestmark = pytest.mark.browser

# The target video's src, also inside shadow roots (Reddit's player).
TARGET_SRC = """() => {
  const find = (root) => root.querySelector("#target") || [...root.querySelectorAll("*")]
    .filter((e) => e.shadowRoot).map((e) => find(e.shadowRoot)).find(Boolean) || null;
  return find(document).src;
}"""


def test_blob_videos_are_sent_as_their_posts_permalink_on_six_sites(browser, live_site, video_site):
    browser.use_account(live_site, "alice")
    received, sent = {}, {}
    for name, social in PAGES.items():
        page, tab = open_page(browser, video_site.url(social.path))
        page.locator("body[data-ready]").wait_for()
        blob = page.evaluate(TARGET_SRC)
        assert blob.startswith("blob:"), (name, blob)
        job = browser.click_menu(tab, {"srcUrl": blob, "mediaType": "video", "pageUrl": page.url})
        sent[name] = job["url"]
        received[name] = analysis(live_site, browser, job["analysisId"])["source_url"]
        wait_for(live_site, job["analysisId"])  # under the per-user limit of active checks
        page.close()
    expected = {name: video_site.url(social.permalink) for name, social in PAGES.items()}
    assert sent == expected
    assert received == expected
