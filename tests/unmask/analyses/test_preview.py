"""Every finished check plays in the browser: uploads that browsers cannot play (MPEG-4 Part 2,
HEVC in .mov, MKV) get an H.264 MP4 preview from the worker, the result page plays it in
Chromium and Firefox, the API names it, and the original stays downloadable as uploaded."""

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.firefox import firefox
from tests.live import LiveServer, chromium_context, wait_for
from tests.support import ffmpeg

TONE = ["-f", "lavfi", "-i", "sine=frequency=440:duration=2"]
# name: (size, ffmpeg output options) for formats Chromium and Firefox do not play as they are.
UNPLAYABLE = {
    "mpeg4-part2.mp4": ("1280x960", ["-c:v", "mpeg4", "-q:v", "6", "-c:a", "aac"]),
    "phone-hevc.mov": (
        "720x1280",
        ["-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1",
         "-x265-params", "log-level=error", "-c:a", "aac"],
    ),
    "clip.mkv": ("320x240", ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]),
}  # fmt: skip
# The short side at most 720 px: 1280x960 shrinks, a 720x1280 phone video and a small one do not.
EXPECTED_SIZE = {
    "mpeg4-part2.mp4": (960, 720),
    "phone-hevc.mov": (720, 1280),
    "clip.mkv": (320, 240),
}
PLAY = """async () => {
  const player = document.getElementById("player");
  player.muted = true;
  await player.play();
  const started = player.currentTime;
  await new Promise((done) => setTimeout(done, 700));
  return {readyState: player.readyState, width: player.videoWidth, started,
          now: player.currentTime, error: player.error && player.error.code};
}"""


@pytest.fixture(scope="module")
def uploads(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("formats")
    made = {}
    for name, (size, options) in UNPLAYABLE.items():
        made[name] = folder / name
        ffmpeg("-f", "lavfi", "-i", f"testsrc=duration=2:size={size}:rate=15", *TONE,
               "-pix_fmt", "yuv420p", "-shortest", *options, str(made[name]))  # fmt: skip
    return made


def streams(path: Path) -> list[dict]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height,pix_fmt",
         "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)["streams"]


@pytest.fixture(scope="module")
def finished(live_site: LiveServer, uploads: dict[str, Path]) -> dict[str, dict]:
    """Each file uploaded through the API and checked by the live server's worker."""
    created = {}
    for name, path in uploads.items():
        response = live_site.upload(path, "alice")
        assert response.status_code == 201, response.text
        created[name] = response.json()["id"]
    return {name: wait_for(live_site, analysis_id) for name, analysis_id in created.items()}


def test_the_worker_makes_an_h264_faststart_preview_and_keeps_the_original(
    live_site: LiveServer, uploads: dict[str, Path], finished: dict[str, dict], tmp_path: Path
):
    session = live_site.browser("alice")
    for name, detail in finished.items():
        assert detail["status"] == "done", (name, detail)
        assert detail["preview_url"] == f"{live_site.url}/analyses/{detail['id']}/preview.mp4"
        preview = session.get(detail["preview_url"])
        assert preview.status_code == 200 and preview.headers["Content-Type"] == "video/mp4"
        local = tmp_path / f"{name}.preview.mp4"
        local.write_bytes(preview.content)
        video, audio = streams(local)
        assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p"), name
        assert (video["width"], video["height"]) == EXPECTED_SIZE[name]
        assert audio["codec_name"] == "aac"
        # faststart: the index (moov) comes before the media data, so playback starts at once.
        assert 0 < preview.content.find(b"moov") < preview.content.find(b"mdat")
        # The original is still there, byte for byte.
        original = session.get(f"{live_site.url}/analyses/{detail['id']}/video")
        assert original.content == uploads[name].read_bytes()


def test_a_browser_playable_upload_is_its_own_preview(live_site: LiveServer, tmp_path: Path):
    path = tmp_path / "plays.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=duration=1:size=160x120:rate=10",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path))  # fmt: skip
    created = live_site.upload(path, "bob")
    assert created.status_code == 201, created.text
    detail = wait_for(live_site, created.json()["id"], name="bob")
    preview = live_site.browser("bob").get(detail["preview_url"])
    assert preview.content == path.read_bytes()
    # Another user cannot read it.
    refused = live_site.browser("alice").get(detail["preview_url"])
    assert refused.status_code == 404


def result_page_plays(play: dict, name: str) -> None:
    assert play["error"] is None, (name, play)
    assert play["readyState"] >= 2 and play["width"] > 0, (name, play)
    assert play["now"] > play["started"], (name, play)


@pytest.fixture
def chromium_page(live_site: LiveServer) -> Iterator:
    with chromium_context(
        live_site, "alice", args=("--autoplay-policy=no-user-gesture-required",)
    ) as context:
        yield context.new_page()


def test_each_preview_plays_on_the_result_page_in_chromium(
    live_site: LiveServer, finished: dict[str, dict], chromium_page
):
    for name, detail in finished.items():
        chromium_page.goto(detail["result_url"])
        src = chromium_page.eval_on_selector("#player", "p => p.getAttribute('src')")
        assert src == f"/analyses/{detail['id']}/preview.mp4"
        download = chromium_page.locator("a[download]", has_text="Download the original video")
        assert download.get_attribute("href") == f"/analyses/{detail['id']}/video"
        result_page_plays(chromium_page.evaluate(PLAY), name)


def test_each_preview_plays_on_the_result_page_in_firefox(
    live_site: LiveServer, finished: dict[str, dict], tmp_path: Path
):
    with firefox(tmp_path / "profile") as browser:
        browser.set_cookie("sessionid", live_site.accounts["alice"]["sessionid"], "127.0.0.1")
        page = browser.new_page()
        for name, detail in finished.items():
            page.goto(detail["result_url"])
            page.wait_for("() => document.getElementById('player').readyState >= 1")
            result_page_plays(page.evaluate(PLAY), name)
