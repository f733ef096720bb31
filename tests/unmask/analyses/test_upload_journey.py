"""Upload → live stages over a real websocket → result, through a real server (daphne)."""

import json

from websockets.sync.client import connect

from tests.live import wait_for
from tests.support import real_video
from unmask.analyses.models import ACTIVE

LIFECYCLE = ["queued", "fetching", "decoding", "detecting_faces", "scoring", "done"]


def watch(server, path: str, **headers) -> list[dict]:
    """Every message a websocket sends until the server closes it."""
    messages = []
    with connect(server.ws_base + path, additional_headers=headers, open_timeout=10) as socket:
        for raw in socket:
            messages.append(json.loads(raw))
    return messages


def test_upload_goes_through_the_stages_to_a_result(live_site):
    video = real_video("lp-d19.mp4")  # no other test uploads this one: it must really run
    response = live_site.upload(video)
    assert response.status_code == 201, response.text
    created = response.json()
    # The reply reads the row after the commit: a fast worker may already have taken it.
    assert created["status"] in ACTIVE, created
    assert created["ws_url"].startswith("ws://127.0.0.1:")
    assert created["result_url"].endswith(f"/analyses/{created['id']}/")

    events = watch(live_site, f"/ws/analyses/{created['id']}/?token={live_site.token('alice')}")
    statuses = [e["status"] for e in events]
    assert all(e["type"] == "analysis.update" for e in events)
    assert statuses[-1] == "done", live_site.log_tail()
    # Several live events, in lifecycle order, with progress that never goes back.
    assert len(set(statuses)) >= 2, statuses
    assert [LIFECYCLE.index(s) for s in statuses] == sorted(LIFECYCLE.index(s) for s in statuses)
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress) and progress[-1] == 100

    detail = wait_for(live_site, created["id"])
    assert detail["verdict"] in {"real", "fake", "uncertain", "no_face"}
    assert detail["frames_analyzed"] > 0
    assert detail["per_frame"] and all("time_s" in f for f in detail["per_frame"])
    if detail["verdict"] != "no_face":
        assert 0.0 <= detail["fake_probability"] <= 1.0
        assert detail["tracks"][0]["thumbnail"].startswith("data:image/jpeg;base64,")
    assert detail["model_version"]
    band_meaning = detail["model"]["band_meaning"]  # what the verdict band means, for clients
    assert "or more a video is called fake" in band_meaning and "uncertain" in band_meaning

    # The owner's result page, media (with Range) and JSON export.
    browser = live_site.browser("alice")
    page = browser.get(created["result_url"])
    assert page.status_code == 200
    assert detail["verdict_label"] in page.text and 'id="timeline"' in page.text
    low, high = detail["model"]["uncertain_band"]
    assert f"Scores between {low:.0%} and {high:.0%} are called uncertain:" in page.text
    assert f"Unmask detector {detail['model_version']}</a>" in page.text
    clip = browser.get(
        f"{live_site.url}/analyses/{created['id']}/video", headers={"Range": "bytes=0-99"}
    )
    assert clip.status_code == 206 and clip.content == video.read_bytes()[:100]
    assert clip.headers["Content-Range"] == f"bytes 0-99/{video.stat().st_size}"
    export = browser.get(f"{live_site.url}/analyses/{created['id']}/export.json")
    assert export.json()["verdict"] == detail["verdict"]
    assert "attachment" in export.headers["Content-Disposition"]


def test_the_same_file_twice_reuses_the_first_result_at_once(live_site):
    video = real_video("lp-d18.mp4")  # other tests may have checked it first: then 200 here too
    first = live_site.upload(video, "alice")
    assert first.status_code in {200, 201}
    first_done = wait_for(live_site, first.json()["id"])
    assert first_done["status"] == "done"

    again = live_site.upload(video, "bob")
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["status"] == "done" and body["reused"] is True
    assert body["id"] != first_done["id"]
    assert body["verdict"] == first_done["verdict"]
    assert body["fake_probability"] == first_done["fake_probability"]
    # Its socket shows the finished state at once and closes.
    events = watch(live_site, f"/ws/analyses/{body['id']}/?token={live_site.token('bob')}")
    assert [e["status"] for e in events] == ["done"]
