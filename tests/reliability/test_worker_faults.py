"""A worker killed in the middle of a job: the job is re-run (or failed with a reason) within a
bounded time, never left running — for the embedded thread runner and for Celery on Redis."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
import requests

from tests.live import (
    PASSWORD,
    POSTGRES_PORT,
    LiveServer,
    _wait_until_up,
    free_port,
    fresh_postgres_database,
    postgres_url,
    start_celery_worker,
    start_live_server,
    stop_process,
    wait_for,
)
from tests.reliability.conftest import STALE_SECONDS, is_sentence
from tests.support import REPO_ROOT, require

RUNNING = {"fetching", "decoding", "detecting_faces", "scoring"}


def submit(site: LiveServer, video: Path) -> str:
    response = site.upload(video)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def wait_running(site: LiveServer, analysis_id: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = requests.get(
            f"{site.url}/api/v1/analyses/{analysis_id}/",
            headers=site.token_headers("alice"),
            timeout=10,
        ).json()["status"]
        if status in RUNNING:
            return
        assert status == "queued", status
        time.sleep(0.1)
    raise AssertionError(f"{analysis_id} never started:\n{site.log_tail()}")


def serve_again(site: LiveServer) -> LiveServer:
    """A new daphne on the same database and media, as after a crash and a restart."""
    port = free_port()
    log = (site.data_dir / "server.log").open("a")
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "unmask.asgi:application"],
        env=site.env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    again = LiveServer(f"http://127.0.0.1:{port}", site.env, site.data_dir, process, site.accounts)
    _wait_until_up(again)
    return again


def slow_video(tmp_path: Path, face_clip: Path) -> Path:
    """Enough frames that the engine is still busy when the worker is killed."""
    from tests.reliability.conftest import X264
    from tests.support import ffmpeg

    path = tmp_path / "longer.mp4"
    ffmpeg("-stream_loop", "3", "-i", str(face_clip), "-vf", "scale=480:480", *X264, str(path))
    return path


def test_a_killed_server_process_leaves_no_job_stuck(tmp_path, detection_checkpoint, face_clip):
    model, trained = detection_checkpoint
    (tmp_path / "site").mkdir()
    site = start_live_server(
        tmp_path / "site",
        model_path=model,
        allow_untrained=not trained,
        extra_env={"ANALYSIS_STALE_SECONDS": str(STALE_SECONDS), "DETECTION_FRAMES": "32"},
    )
    again = None
    try:
        analysis_id = submit(site, slow_video(tmp_path, face_clip))
        wait_running(site, analysis_id)
        site.process.send_signal(signal.SIGKILL)
        site.process.wait(timeout=10)
        killed_at = time.monotonic()
        again = serve_again(site)
        done = wait_for(again, analysis_id, timeout_s=180)
        # ANALYSIS_MAX_ATTEMPTS=2: the stale job is re-queued once and runs to the end.
        assert done["status"] == "done", done["error"]
        assert time.monotonic() - killed_at < 180
    finally:
        for server in (site, again):
            if server is not None and server.process.poll() is None:
                server.stop()


def redis_url(db: int) -> str:
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
        up = True
    except redis.RedisError:
        up = False
    require(up, "Redis is not running on 127.0.0.1:6379 (bash scripts/services.sh)")
    url = f"redis://127.0.0.1:6379/{db}"
    redis.Redis.from_url(url).flushdb()
    return url


def start_worker(site: LiveServer, name: str) -> subprocess.Popen:
    return start_celery_worker(site, site.data_dir / f"{name}.log", name)


@pytest.mark.services
def test_a_killed_celery_worker_leaves_no_job_stuck(tmp_path, detection_checkpoint, face_clip):
    url = redis_url(db=11)
    model, trained = detection_checkpoint
    (tmp_path / "site").mkdir()
    site = start_live_server(
        tmp_path / "site",
        model_path=model,
        allow_untrained=not trained,
        extra_env={
            "REDIS_URL": url,
            "ANALYSIS_RUNNER": "celery",
            "ANALYSIS_STALE_SECONDS": str(STALE_SECONDS),
            "CELERY_VISIBILITY_TIMEOUT": "20",
            "DETECTION_FRAMES": "32",
        },
    )
    workers: list[subprocess.Popen] = []
    try:
        workers.append(start_worker(site, "first"))
        analysis_id = submit(site, slow_video(tmp_path, face_clip))
        wait_running(site, analysis_id, timeout_s=180)
        os.kill(workers[0].pid, signal.SIGKILL)
        workers[0].wait(timeout=10)
        killed_at = time.monotonic()
        workers.append(start_worker(site, "second"))
        done = wait_for(site, analysis_id, timeout_s=240)
        assert done["status"] == "done", done["error"]
        assert time.monotonic() - killed_at < 240
        # The same worker then serves the next job.
        after = wait_for(site, submit(site, face_clip), timeout_s=120)
        assert after["status"] == "done", after["error"]
    finally:
        for worker in workers:
            stop_process(worker)
        site.stop()


def test_redis_down_answers_503_with_a_sentence(tmp_path, detection_checkpoint, face_clip):
    """Cache, channel layer and broker all point at a closed port: reads still work (the
    throttles fail open), a submission is refused with 503 and a sentence and leaves no row
    and no stored file, and the password sign-in (whose throttle fails closed) says 503 too."""
    model, trained = detection_checkpoint
    (tmp_path / "site").mkdir()
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    site = start_live_server(
        tmp_path / "site",
        model_path=model,
        allow_untrained=not trained,
        extra_env={"REDIS_URL": closed, "ANALYSIS_RUNNER": "celery"},
    )
    api = f"{site.url}/api/v1"
    try:
        response = requests.post(
            f"{api}/analyses/",
            files={"file": ("clip.mp4", face_clip.read_bytes(), "video/mp4")},
            headers=site.token_headers("alice"),
            timeout=60,
        )
        assert response.status_code == 503, response.text
        assert is_sentence(response.json()["detail"])

        listed = requests.get(f"{api}/analyses/", headers=site.token_headers("alice"), timeout=30)
        assert listed.status_code == 200, listed.text
        assert listed.json()["count"] == 0  # nothing half-made waits unseen
        media = site.data_dir / "media"
        assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))

        form = site.browser("alice").post(
            f"{site.url}/analyses/new/",
            files={"file": ("clip.mp4", face_clip.read_bytes(), "video/mp4")},
            headers={"X-Requested-With": "XMLHttpRequest"},
            timeout=60,
        )
        assert form.status_code == 503, form.text[:500]
        assert "Traceback" not in form.text

        sign_in = requests.post(
            f"{api}/auth/token/",
            json={"username": "alice", "password": PASSWORD},
            timeout=30,
        )
        assert sign_in.status_code == 503, sign_in.text
        assert is_sentence(sign_in.json()["detail"])
        assert "Traceback" not in site.log_tail(200)
    finally:
        site.stop()


@pytest.fixture
def postgres_database() -> Iterator[str]:
    with fresh_postgres_database("unmask_outage") as name:
        yield name


class Forwarder:
    """127.0.0.1:port -> target, byte for byte. cut() is the network going away: the listener
    and every forwarded connection close; restore() listens on the same port again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._keep(listener)
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked on it
            sock.close()

    def _keep(self, *sockets: socket.socket) -> None:
        with self._lock:
            self._sockets.update(sockets)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            self._keep(client, upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@pytest.mark.services
def test_database_down_answers_503_and_recovers(tmp_path, detection_checkpoint, postgres_database):
    """PostgreSQL behind a forwarder that is cut while the site runs: the API and a signed-in
    page answer 503 with a sentence and Retry-After (no 500, no traceback, a warning in the
    log), and once the forwarder is back the same call answers 200 without a restart."""
    model, trained = detection_checkpoint
    forwarder = Forwarder(("127.0.0.1", POSTGRES_PORT))
    forwarder.restore()
    (tmp_path / "site").mkdir()
    site = None
    try:
        site = start_live_server(
            tmp_path / "site",
            model_path=model,
            allow_untrained=not trained,
            extra_env={
                "DATABASE_URL": postgres_url(postgres_database, forwarder.port),
                "ANALYSIS_THREAD_START": "false",  # only requests touch the database
            },
        )
        api = f"{site.url}/api/v1/analyses/"
        history = f"{site.url}/analyses/"
        signed_in = requests.post(
            f"{site.url}/api/v1/auth/token/",
            json={"username": "alice", "password": PASSWORD},
            timeout=30,
        )
        assert signed_in.status_code == 200, signed_in.text
        token = {"Authorization": f"Token {signed_in.json()['token']}"}
        assert requests.get(api, headers=token, timeout=30).status_code == 200
        assert site.browser("alice").get(history, timeout=30).status_code == 200

        forwarder.cut()
        listed = requests.get(api, headers=token, timeout=30)
        assert listed.status_code == 503, listed.text
        assert is_sentence(listed.json()["detail"])
        assert int(listed.headers["Retry-After"]) > 0
        page = site.browser("alice").get(history, timeout=30, allow_redirects=False)
        assert page.status_code == 503, page.text[:500]
        assert listed.json()["detail"] in page.text
        assert "Traceback" not in page.text
        assert page.headers["Retry-After"]
        log = site.log_tail(200)
        assert "service unavailable during GET /api/v1/analyses/" in log
        assert "service unavailable during GET /analyses/" in log
        assert "Traceback" not in log

        forwarder.restore()
        again = requests.get(api, headers=token, timeout=30)
        assert again.status_code == 200, again.text
        assert site.browser("alice").get(history, timeout=30).status_code == 200
    finally:
        if site is not None:
            site.stop()
        forwarder.cut()
