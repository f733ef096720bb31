"""Reliability fixtures: a hostile-input corpus made with ffmpeg, local servers that misbehave
(canary, too large, slow drip, redirect), and a server tuned with small limits.

Nothing here is committed: every video is generated into the session's tmp dir.
"""

import http.server
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.live import LiveServer, start_live_server
from tests.support import ffmpeg, has_encoder, real_video, require

os.environ.setdefault("DETECTION_THREADS", "1")

# Limits the reliability server (and the CLI runs) use: small enough to reach with tiny files.
MAX_PIXELS = 3840 * 2160  # 4K passes, 8K is refused
MAX_DURATION_S = 3600  # an hour; the corpus has a four-hour file
UPLOAD_MAX_BYTES = 2 * 1024 * 1024
FETCH_MAX_BYTES = 512 * 1024
FETCH_TIMEOUT_S = 4
STALE_SECONDS = 4


X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


@dataclass(frozen=True)
class Case:
    """One corpus file and what must become of it: "refused" (a sentence) or "result"."""

    name: str
    path: Path
    outcome: str
    sentence: str = ""  # a word the refusal sentence must contain (lower case)
    verdicts: frozenset[str] = field(default_factory=frozenset)  # allowed when a result


ANY_VERDICT = frozenset({"real", "fake", "uncertain", "no_face"})


@pytest.fixture(scope="session")
def face_clip(tmp_path_factory) -> Path:
    """Two seconds of a real face, 320×320, H.264 with its index at the end."""
    require(shutil.which("ffmpeg") is not None, "ffmpeg is not installed")
    path = tmp_path_factory.mktemp("face") / "face.mp4"
    ffmpeg("-i", str(real_video("vr-1.mp4")), "-t", "2", "-vf", "scale=320:320", *X264, "-an",
           str(path))  # fmt: skip
    return path


@pytest.fixture(scope="session")
def corpus(tmp_path_factory, face_clip) -> dict[str, Case]:
    """Every odd input the issue lists, each tiny (a few hundred px, 1-3 s) unless the case
    is about size or length."""
    root = tmp_path_factory.mktemp("corpus")
    face = str(face_clip)
    cases: list[Case] = []

    def add(name: str, outcome: str, sentence: str = "", verdicts=ANY_VERDICT) -> Path:
        path = root / name
        cases.append(Case(name, path, outcome, sentence, frozenset(verdicts)))
        return path

    add("empty.mp4", "refused", "empty").write_bytes(b"")
    add("random.mp4", "refused", "video").write_bytes(os.urandom(64 * 1024))
    add("text.mp4", "refused", "video").write_text("Not a video, only words.\n" * 200)
    png = root / "picture.png"
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=64x64", "-frames:v", "1", str(png))
    # FFmpeg reads a still image as a one-frame video: a verdict on it is as fair as on one frame.
    add("png.mp4", "either", "video").write_bytes(png.read_bytes())
    data = face_clip.read_bytes()  # index (moov) at the end: cutting it loses the index
    add("truncated.mp4", "refused", "truncated").write_bytes(data[: len(data) // 2])
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac",
           str(add("audio_only.mp4", "refused", "no video")))  # fmt: skip
    ffmpeg("-f", "lavfi", "-i", "color=c=black:s=7680x4320:r=1", "-frames:v", "1", *X264,
           str(add("huge_8k.mp4", "refused", "pixels")))  # fmt: skip
    # Four hours in the container, one frame a minute: a real long file made in a blink.
    ffmpeg("-f", "lavfi", "-i", "color=c=black:s=64x64:r=1/60", "-t", "14400", *X264,
           str(add("four_hours.mp4", "refused", "minutes")))  # fmt: skip

    # Damaged in the middle: the index comes first, a third of the picture data is noise.
    faststart = root / "faststart.tmp.mp4"
    ffmpeg("-i", face, "-c", "copy", "-movflags", "+faststart", str(faststart))
    damaged = bytearray(faststart.read_bytes())
    third = len(damaged) // 3
    damaged[third : 2 * third] = os.urandom(third)
    add("corrupt_middle.mp4", "either").write_bytes(bytes(damaged))

    ffmpeg("-i", face, "-frames:v", "1", *X264, str(add("one_frame.mp4", "result")))
    no_face = {"no_face"}
    ffmpeg("-f", "lavfi", "-i", "color=c=black:s=320x240:r=10", "-t", "2", *X264,
           str(add("black.mp4", "result", verdicts=no_face)))  # fmt: skip
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=10", "-t", "2", *X264,
           str(add("testsrc.mp4", "result", verdicts=no_face)))  # fmt: skip
    ffmpeg("-i", face, "-vf", "scale=16:16,pad=640:480:300:220", *X264,
           str(add("tiny_face.mp4", "result")))  # fmt: skip
    ffmpeg("-i", face, "-c", "copy", "-metadata:s:v:0", "rotate=90",
           str(add("rotated.mp4", "result")))  # fmt: skip
    ffmpeg("-i", face, "-c:v", "libvpx-vp9", "-b:v", "200k", "-deadline", "realtime",
           "-cpu-used", "8", str(add("vp9.webm", "result")))  # fmt: skip
    # Variable frame rate: keep 3 frames of every 10, with their original timestamps.
    ffmpeg("-i", face, "-vf", "select='lt(mod(n\\,10)\\,3)'", "-fps_mode", "vfr", *X264,
           str(add("vfr.mkv", "result")))  # fmt: skip
    if has_encoder("libx265"):
        ffmpeg("-i", face, "-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
               "log-level=error", str(add("hevc.mp4", "result")))  # fmt: skip
    av1 = next((e for e in ("libsvtav1", "libaom-av1") if has_encoder(e)), None)
    if av1:
        speed = ["-preset", "12"] if av1 == "libsvtav1" else ["-cpu-used", "8", "-row-mt", "1"]
        ffmpeg("-i", face, "-t", "1", "-c:v", av1, *speed, str(add("av1.mp4", "result")))
    faststart.unlink()
    return {case.name: case for case in cases}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Django's default hasher costs about a second here; these tests make many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- a checkpoint for the CLI ------------------------------------------------------------------


@pytest.fixture(scope="session")
def cli_checkpoint(tmp_path_factory) -> Path:
    """The shipped checkpoint when present; else random weights whose card says trained, because
    the CLI refuses untrained models. These tests judge input handling, never verdicts."""
    from detection.pipeline import DEFAULT_MODEL_PATH
    from tests.detection.conftest import make_checkpoint

    if DEFAULT_MODEL_PATH.is_file():
        return DEFAULT_MODEL_PATH
    return make_checkpoint(tmp_path_factory.mktemp("model") / "cli.pt", trained=True)


# --- local http servers ------------------------------------------------------------------------


@dataclass
class LocalHost:
    """A loopback http server; `hits` lists every path it was asked for."""

    base: str
    hits: list[str]


class _Quiet(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _serve(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def canary() -> Iterator[LocalHost]:
    """Must never be reached: records any request at all."""
    hits: list[str] = []

    class Handler(_Quiet):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.end_headers()

        do_HEAD = do_GET

    with _serve(Handler) as base:
        yield LocalHost(base, hits)


@pytest.fixture
def hostile_host(face_clip) -> Iterator[LocalHost]:
    """/video.mp4 a real clip; /big.mp4 claims 50 MB; /endless.mp4 streams with no length;
    /drip.mp4 sends ten bytes every half second forever; /redirect?to=URL answers 302."""
    hits: list[str] = []
    video = face_clip.read_bytes()

    class Handler(_Quiet):
        def do_GET(self) -> None:
            hits.append(self.path)
            if self.path.startswith("/redirect?to="):
                self.send_response(302)
                self.send_header("Location", self.path.split("to=", 1)[1])
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            if self.path == "/video.mp4":
                self.send_header("Content-Length", str(len(video)))
            elif self.path == "/big.mp4":
                self.send_header("Content-Length", str(50 * 1024 * 1024))
            self.end_headers()
            with suppress(OSError):  # the client hung up, as it should
                self._body()

        def _body(self) -> None:
            if self.path == "/video.mp4":
                self.wfile.write(video)
            elif self.path in ("/big.mp4", "/endless.mp4"):
                for _ in range(1000):
                    self.wfile.write(b"\0" * 65536)
            elif self.path == "/drip.mp4":
                for _ in range(2000):
                    self.wfile.write(b"\0" * 10)
                    self.wfile.flush()
                    time.sleep(0.5)

    with _serve(Handler) as base:
        yield LocalHost(base, hits)


# --- a server with small limits ----------------------------------------------------------------


@pytest.fixture(scope="session")
def limits_site(tmp_path_factory, detection_checkpoint) -> Iterator[LiveServer]:
    """daphne with the thread runner and the small limits above; analyses run in its threads."""
    model_path, trained = detection_checkpoint
    server = start_live_server(
        tmp_path_factory.mktemp("reliability-live"),
        model_path=model_path,
        allow_untrained=not trained,
        extra_env={
            "UPLOAD_MAX_BYTES": str(UPLOAD_MAX_BYTES),
            "DETECTION_MAX_PIXELS": str(MAX_PIXELS),
            "DETECTION_MAX_DURATION_S": str(MAX_DURATION_S),
            "FETCH_MAX_BYTES": str(FETCH_MAX_BYTES),
            "FETCH_TIMEOUT_S": str(FETCH_TIMEOUT_S),
            "ANALYSIS_MAX_ACTIVE_PER_USER": "100",
        },
    )
    try:
        yield server
    finally:
        server.stop()


def is_sentence(text: str) -> bool:
    """A message for a person: words ending in a full stop, with no traceback or exception name."""
    return (
        text.strip().endswith(".")
        and len(text.split()) >= 4
        and "Traceback" not in text
        and 'File "' not in text
        and "Error:" not in text
    )
