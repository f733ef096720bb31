"""A small website for the extension tests, served from 127.0.0.1: a page with a direct
<video src>, a feed whose videos play from blob: URLs inside posts with permalinks, and a
members-only video that needs the visitor's cookie, so the platform cannot fetch it; and the
post markup of six social sites around blob: videos (tests/extension/social.py). Each request
is logged, so a failing test can say what the site saw."""

import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.extension.social import page_for

SLOW_S = 4
# How long a stalled response holds its connection at most; the extension gives up far sooner.
STALL_HOLD_S = 90
BIG_BYTES = 64 * 1024 * 1024  # the members' big video, far over the live server's upload limit

FEED_PAGE = """<!doctype html><title>Feed</title>
<style>.post{position:relative;margin:20px;width:480px}
video{width:480px;height:270px;display:block}
.cover{position:absolute;left:0;top:0;width:480px;height:270px}</style>
<article class=post id=post-1><a href="/post/1?run=__RUN__"><time>1 h</time></a>
  <p>first post</p><video id=v1 muted></video></article>
<article class=post id=post-2><a href="/post/2?run=__RUN__"><time>2 h</time></a>
  <p>second post</p>
  <div class=player><video id=v2 muted></video><div class=cover></div></div></article>
<script>
// As on X or TikTok: the player gets the bytes itself and plays them from a blob: URL.
fetch("/clip.mp4?run=__RUN__").then(r => r.blob()).then(blob => {
  for (const id of ["v1", "v2"]) document.getElementById(id).src = URL.createObjectURL(blob);
  document.body.dataset.ready = "1";
});
</script>"""

POST_PAGE = """<!doctype html><title>Post</title>
<video src="/clip.mp4?run=__RUN__&amp;post=__POST__" controls muted></video>"""

DIRECT_PAGE = """<!doctype html><title>Direct video</title><h1>News</h1>
<video id=v src="/clip.mp4?run=__RUN__" controls muted width=480></video>"""

MEMBERS_PAGE = """<!doctype html><title>Members only</title>
<video id=v src="/members/clip.mp4?run=__RUN__" controls muted width=480></video>"""


def stalls_wanted(run: str) -> int:
    return 2 if "stall2" in run else 1 if "stall" in run else 0


class SiteHandler(BaseHTTPRequestHandler):
    """A website with a face video: direct <video src>, a blob: feed with permalinks, and a
    members-only video that needs the visitor's cookie (the server cannot fetch it), and a far
    larger one; in a run named "stall" ("stall2"), the first (two) fetch()es of the video stop
    sending halfway."""

    video: bytes = b""
    seen: list[str]  # "METHOD path (fetch destination) -> status", in the order served
    stalls: dict[str, int]  # run -> how many fetch()es of the members' clip were stalled

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def note(self, event: str) -> None:
        self.seen.append(f"{time.strftime('%H:%M:%S')} {event}")

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        dest = self.headers.get("Sec-Fetch-Dest", "?")
        self.note(f"{self.command} {self.path} ({dest}) -> {code}")

    def stall(self) -> None:
        """Headers and half the video, then silence until the client hangs up: a download
        whose connection went quiet midway."""
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(self.video)))
        self.end_headers()
        self.wfile.write(self.video[: len(self.video) // 2])
        self.wfile.flush()
        self.connection.settimeout(STALL_HOLD_S)
        try:
            while self.connection.recv(4096):
                pass
        except (TimeoutError, OSError):
            pass
        self.note(f"... {self.path} stalled until the client left")
        self.close_connection = True

    def stream_big_video(self) -> None:
        """BIG_BYTES of video with no Content-Length, so only counting tells its size; notes
        how much went out before the client hung up."""
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.end_headers()
        sent = 0
        try:
            while sent < BIG_BYTES:
                self.wfile.write(self.video)
                sent += len(self.video)
        except OSError:
            pass
        self.note(f"... {self.path} {sent // 1024 // 1024} MB sent")
        self.close_connection = True

    def send(
        self, status: int, body: bytes, content_type: str, headers: dict | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
            if content_type.startswith("video/"):
                self.note(f"... {self.path} sent in full")

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        social = page_for(self.path)
        if social is not None:
            self.send(200, social.encode(), "text/html; charset=utf-8")
            return
        path, _, query = self.path.partition("?")
        run = dict(p.partition("=")[::2] for p in query.split("&") if p).get("run", "0")
        html = "text/html; charset=utf-8"
        if path == "/clip.mp4":
            if "slow" in run:  # a check that stays in flight for a while (worker restart test)
                time.sleep(SLOW_S)
            self.send(200, self.video, "video/mp4")
        elif path in {"/members/clip.mp4", "/members/big.mp4"}:
            fetched = self.headers.get("Sec-Fetch-Dest") == "empty"  # fetch(), not the player
            if "member=1" not in (self.headers.get("Cookie") or ""):
                self.send(403, b"members only", "text/plain")
            elif path == "/members/big.mp4":
                self.stream_big_video()
            elif fetched and self.stalls.get(run, 0) < stalls_wanted(run):
                self.stalls[run] = self.stalls.get(run, 0) + 1
                self.stall()
            else:
                self.send(200, self.video, "video/mp4")
        elif path == "/direct.html":
            self.send(200, DIRECT_PAGE.replace("__RUN__", run).encode(), html)
        elif path == "/feed.html":
            self.send(200, FEED_PAGE.replace("__RUN__", run).encode(), html)
        elif path.startswith("/post/"):
            page = POST_PAGE.replace("__RUN__", run).replace("__POST__", path.rsplit("/", 1)[-1])
            self.send(200, page.encode(), html)
        elif path == "/members.html":
            cookie = {"Set-Cookie": "member=1; Path=/"}
            self.send(200, MEMBERS_PAGE.replace("__RUN__", run).encode(), html, cookie)
        else:
            self.send(404, b"not found", "text/plain")


@dataclass(frozen=True)
class Site:
    port: int
    seen: list[str] = field(default_factory=list)  # the handler's request log

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.seen[-lines:]) or "(no requests)"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"
