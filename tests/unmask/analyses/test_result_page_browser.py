"""The result page's script in a real browser: live progress turns into the evidence without a
reload by hand, the timeline chart seeks the player, and the face carousel scrolls by mouse and
keyboard.

Headless Debian Chromium (Playwright) against the live daphne server, which runs the real
engine on clips made from ../shared real videos.
"""

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.live import JOB_TIMEOUT_S, LiveServer, chromium_context
from tests.quiet_socket import reroute_sockets
from tests.support import ffmpeg, real_video


@pytest.fixture(scope="module")
def two_faces(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("result-page") / "two people.mp4"
    ffmpeg(
        "-t", "4", "-i", str(real_video("lp-d18.mp4")),
        "-t", "4", "-i", str(real_video("vr-3.mp4")),
        "-filter_complex",
        "[0:v]scale=320:320,fps=25[a];[1:v]scale=320:320,fps=25[b];[a][b]hstack=shortest=1",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-an", str(path),
    )  # fmt: skip
    return path


@pytest.fixture
def page(live_site: LiveServer) -> Iterator:
    """A Chromium tab signed in as alice (her session cookie)."""
    with chromium_context(live_site, "alice") as context:
        yield context.new_page()


def open_while_running_until_evidence(page, live_site: LiveServer, analysis_id: str) -> None:
    """Opened while the job runs, the page is served with the live panel showing; its script
    follows the job and reloads itself into the evidence when it is done."""
    first = page.goto(f"{live_site.url}/analyses/{analysis_id}/")
    assert first is not None
    live_panel = re.search(r'<section id="live"[^>]*>', first.text())
    assert live_panel and "hidden" not in live_panel.group(0)
    page.wait_for_selector("#timeline", timeout=JOB_TIMEOUT_S * 1000)
    # The script's own reload, not ours (a load-event count races a fast job's reload).
    assert page.evaluate("performance.getEntriesByType('navigation')[0].type") == "reload"


def test_result_page_follows_progress_then_the_chart_seeks_and_faces_scroll(
    live_site: LiveServer, page, two_faces: Path
):
    created = live_site.upload(two_faces)
    assert created.status_code == 201, created.text
    analysis_id = created.json()["id"]
    # What the page's own websocket brings: the end must come this way, not by the fallback.
    received: list[dict] = []
    page.on("websocket", lambda socket: socket.on(
        "framereceived", lambda frame: received.append(json.loads(frame))))  # fmt: skip

    open_while_running_until_evidence(page, live_site, analysis_id)
    assert received and received[-1]["status"] == "done", received
    detail = requests.get(
        f"{live_site.url}/api/v1/analyses/{analysis_id}/",
        headers=live_site.token_headers("alice"),
        timeout=30,
    ).json()
    assert detail["status"] == "done", detail
    assert len(detail["tracks"]) == 2

    # The chart is drawn: its plot geometry is recorded and the canvas is not blank.
    plot = page.eval_on_selector("#timeline", "c => JSON.parse(c.dataset.plot)")
    drawn = page.eval_on_selector(
        "#timeline",
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""",
    )
    assert drawn > 500

    # A click on the chart seeks the player to the sampled frame nearest the click, paused.
    page.wait_for_function("document.getElementById('player').readyState >= 1", timeout=30_000)
    times = sorted({f["time_s"] for f in detail["per_frame"]})
    target = times[len(times) * 2 // 3]
    page.locator("#timeline").scroll_into_view_if_needed()
    box = page.locator("#timeline").bounding_box()
    x = plot["left"] + target / plot["tMax"] * plot["width"]
    page.mouse.click(box["x"] + x, box["y"] + box["height"] / 2)
    current = page.eval_on_selector("#player", "p => p.currentTime")
    assert current == pytest.approx(target, abs=0.05)
    assert page.eval_on_selector("#player", "p => p.paused")

    # One card per face, each with its own score; on a narrow row the buttons scroll the faces.
    faces = page.locator("#faces .face")
    assert faces.count() == 2
    assert all("% fake" in faces.nth(i).inner_text() for i in range(2))
    page.eval_on_selector("#faces", "t => { t.style.flex = '0 0 130px'; }")
    assert page.eval_on_selector("#faces", "t => t.scrollWidth > t.clientWidth")
    page.click(".carousel-button.next")
    page.wait_for_function("document.getElementById('faces').scrollLeft > 0", timeout=5_000)
    page.click(".carousel-button.prev")
    page.wait_for_function("document.getElementById('faces').scrollLeft === 0", timeout=5_000)

    # The same with the keyboard: Tab reaches the row, the arrow keys move it, and the buttons
    # answer Enter.
    page.focus(".carousel-button.prev")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "faces"
    page.keyboard.press("ArrowRight")
    page.wait_for_function("document.getElementById('faces').scrollLeft > 0", timeout=5_000)
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("document.getElementById('faces').scrollLeft === 0", timeout=5_000)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('next')")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('faces').scrollLeft > 0", timeout=5_000)


def test_a_result_page_whose_websocket_goes_quiet_still_turns_into_the_evidence(
    live_site: LiveServer, page, quiet_socket, tmp_path: Path
):
    clip = tmp_path / "quiet.mp4"  # a video of its own: a copy would be finished at once
    ffmpeg(
        "-t", "3", "-i", str(real_video("vr-3.mp4")), "-vf", "scale=320:320,fps=25",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-an", str(clip),
    )  # fmt: skip
    # Every websocket the page opens reaches a peer that accepts and never speaks.
    page.add_init_script(reroute_sockets(quiet_socket.url))
    created = live_site.upload(clip)
    assert created.status_code == 201, created.text

    open_while_running_until_evidence(page, live_site, created.json()["id"])
    assert quiet_socket.opened >= 1
