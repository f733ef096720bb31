"""A link is fetched by the worker (here from a local http server the test allows) and checked."""

import functools
import http.server
import shutil
import threading

import pytest
import requests

from tests.live import wait_for
from tests.support import real_video


@pytest.fixture
def video_host(tmp_path):
    """A plain http.server on 127.0.0.1 serving one real video; records every path asked for."""
    shutil.copy(real_video("lp-d18.mp4"), tmp_path / "talk.mp4")
    hits: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(tmp_path))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def test_a_link_is_fetched_and_checked(live_site, video_host):
    base, hits = video_host
    url = f"{base}/talk.mp4"
    response = requests.post(
        f"{live_site.url}/api/v1/analyses/",
        json={"url": url},
        headers=live_site.token_headers("alice"),
        timeout=30,
    )
    assert response.status_code in {200, 201}, response.text
    done = wait_for(live_site, response.json()["id"])
    assert done["status"] == "done", done["error"]
    assert done["source_url"] == url
    assert "/talk.mp4" in hits
    # The fetched video is stored and served to its owner like an upload.
    video = live_site.browser("alice").get(f"{live_site.url}/analyses/{done['id']}/video")
    assert video.status_code == 200
    assert video.content == real_video("lp-d18.mp4").read_bytes()

    # The same link again soon after: the recent result is reused, nothing is fetched.
    fetched = len(hits)
    again = requests.post(
        f"{live_site.url}/api/v1/analyses/",
        json={"url": url},
        headers=live_site.token_headers("bob"),
        timeout=30,
    )
    assert again.status_code == 200 and again.json()["status"] == "done"
    assert again.json()["reused"] is True
    assert len(hits) == fetched
