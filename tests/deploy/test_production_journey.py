"""The production configuration, for real: PostgreSQL, Redis, daphne, a separate Celery worker
process and S3 storage (moto's S3 server on loopback), through upload → result over HTTP.

Only environment variables differ from `make run`, exactly as docker-compose.yml sets them:
DATABASE_URL, REDIS_URL and STORAGE_*. PostgreSQL and Redis come from `make services`.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import redis
import requests
from websockets.sync.client import connect

from tests.live import (
    PASSWORD,
    LiveServer,
    free_port,
    fresh_postgres_database,
    postgres_url,
    start_celery_worker,
    start_live_server,
    stop_process,
    wait_for,
)
from tests.support import REPO_ROOT, real_video, require
from unmask.analyses.models import ACTIVE

pytestmark = pytest.mark.services

REDIS_DB = 14  # a database of its own, so other Redis tests never see these queues
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
BUCKET = "unmask-media"
S3_KEYS = {"aws_access_key_id": "deploy-test", "aws_secret_access_key": "deploy-test-secret"}
VIDEO = "lp-d18.mp4"  # a short real face video
BIN = Path(sys.executable).parent


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1", **S3_KEYS)


@dataclass
class Production:
    site: LiveServer
    s3: S3Server
    worker_log: Path


def redis_is_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=3).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped afterwards."""
    with fresh_postgres_database("unmask_deploy") as name:
        yield postgres_url(name)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    require(redis_is_up(), "Redis at 127.0.0.1:6379 (start it: make services)")
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 API server on loopback, with an empty private bucket."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = S3Server(f"http://127.0.0.1:{port}", process)
    try:
        wait_until(lambda: _answers(server.endpoint), 30, "the S3 server did not start")
        server.client().create_bucket(Bucket=BUCKET)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def production(
    tmp_path_factory, detection_checkpoint, database_url, redis_url, s3_server
) -> Iterator[Production]:
    """daphne on PostgreSQL + Redis + S3 (jobs go to Celery), and one worker process beside it."""
    model_path, trained = detection_checkpoint
    data_dir = tmp_path_factory.mktemp("production")
    site = start_live_server(
        data_dir,
        model_path=model_path,
        allow_untrained=not trained,
        extra_env={
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "STORAGE_BUCKET": BUCKET,
            "STORAGE_ENDPOINT_URL": s3_server.endpoint,
            "STORAGE_ACCESS_KEY": S3_KEYS["aws_access_key_id"],
            "STORAGE_SECRET_KEY": S3_KEYS["aws_secret_access_key"],
            "STORAGE_REGION": "us-east-1",
        },
    )
    worker_log = data_dir / "worker.log"
    worker = start_celery_worker(site, worker_log, "deploy-test")
    try:
        wait_until(
            lambda: worker.poll() is None and " ready." in worker_log.read_text(errors="replace"),
            90,
            "the Celery worker did not become ready",
            log=worker_log,
        )
        yield Production(site, s3_server, worker_log)
    finally:
        stop_process(worker)
        site.stop()


def _answers(url: str) -> bool:
    try:
        requests.get(url, timeout=5)
    except (requests.ConnectionError, requests.Timeout):  # not listening, or still starting
        return False
    return True


def wait_until(condition, timeout_s: float, message: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-3000:] if log else ""
    raise AssertionError(f"{message} within {timeout_s} s\n{tail}")


def sign_in(site: LiveServer, username: str) -> dict[str, str]:
    """A token from the API's sign-in endpoint, as the extension and API clients get one."""
    response = requests.post(
        f"{site.url}/api/v1/auth/token/",
        json={"username": username, "password": PASSWORD, "device": "deploy test"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Token {response.json()['token']}"}


def follow(ws_url: str, token: str) -> list[dict]:
    """Every websocket message until the server closes after done/failed."""
    with connect(f"{ws_url}?token={token}", open_timeout=10) as socket:
        return [json.loads(raw) for raw in socket]


def test_upload_is_analysed_by_a_separate_worker_and_stored_in_s3(production):
    site, bucket = production.site, production.s3.client()
    video = real_video(VIDEO)
    content = video.read_bytes()
    headers = sign_in(site, "alice")

    with video.open("rb") as handle:
        created = requests.post(
            f"{site.url}/api/v1/analyses/",
            files={"file": (video.name, handle, "video/mp4")},
            headers=headers,
            timeout=60,
        )
    assert created.status_code == 201, created.text
    analysis = created.json()
    # A new job, not a reused result; the worker may already have taken it (a fast worker
    # answers "decoding" here), since the reply shows the row as it is after the commit.
    assert analysis["status"] in ACTIVE, analysis

    # The upload went to the bucket, not to the server's disk.
    stored = bucket.list_objects_v2(Bucket=BUCKET, Prefix=f"analyses/{analysis['id']}/")
    keys = [item["Key"] for item in stored.get("Contents", [])]
    assert len(keys) == 1, keys
    body = bucket.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(content).digest()
    local_media = site.data_dir / "media"
    assert not local_media.exists() or not any(p.is_file() for p in local_media.rglob("*"))

    # Live progress over the Redis channel layer, from the worker process to this socket.
    token = headers["Authorization"].split()[1]
    events = follow(analysis["ws_url"], token)
    assert events[-1]["status"] == "done", (events[-1], site.log_tail())
    assert len({e["status"] for e in events}) >= 2  # at least one live change, not just a snapshot

    detail = wait_for(site, analysis["id"], timeout_s=30)
    assert detail["verdict"] in {"real", "fake", "uncertain", "no_face"}
    assert detail["frames_analyzed"] > 0
    assert detail["per_frame"]

    # The separate worker ran it (the web process only queued it).
    worker_log = production.worker_log.read_text(errors="replace")
    runs = re.findall(r"Task detection\.run_analysis\[[\w-]+\] (\w+)", worker_log)
    assert runs == ["received", "succeeded"]
    assert "started the embedded job runner" not in site.log_tail(400)

    # The owner's browser gets the video through the site, whole and by range.
    browser = site.browser("alice")
    media_url = f"{site.url}/analyses/{analysis['id']}/video"
    whole = browser.get(media_url, timeout=30)
    assert whole.status_code == 200
    assert not whole.history  # streamed by the site, never a redirect to storage
    assert whole.content == content
    part = browser.get(media_url, headers={"Range": "bytes=100-199"}, timeout=30)
    assert part.status_code == 206
    assert part.content == content[100:200]
    # Another user, or nobody, gets nothing — not even a redirect to storage.
    for other in (site.browser("bob"), requests.Session()):
        refused = other.get(media_url, allow_redirects=False, timeout=30)
        assert refused.status_code in {302, 404} and "X-Amz-Signature" not in refused.headers.get(
            "Location", ""
        )
        assert other.get(media_url, timeout=30).content != content

    # The same bytes again (another user): answered from the stored result by the web process.
    with video.open("rb") as handle:
        again = requests.post(
            f"{site.url}/api/v1/analyses/",
            files={"file": (video.name, handle, "video/mp4")},
            headers=sign_in(site, "bob"),
            timeout=60,
        )
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "done"


def test_container_health_check_passes_against_the_running_site(production):
    port = production.site.url.rsplit(":", 1)[1]
    check = [sys.executable, str(REPO_ROOT / "scripts" / "healthcheck.py")]
    env = {"ALLOWED_HOSTS": production.site.env["ALLOWED_HOSTS"]}
    assert subprocess.run([*check, port], env=env, timeout=30).returncode == 0
    assert subprocess.run([*check, str(free_port())], env=env, timeout=30).returncode == 1


_SUBMIT_AT_ONCE = """
import json, threading
from django.contrib.auth import get_user_model
from django.db import connection
from unmask.analyses.services import TooManyActive, submit_analysis
user = get_user_model().objects.create_user("racer", "racer@example.com", "x" * 20)
start = threading.Barrier(8)
outcomes = []
def submit(n):
    start.wait()
    try:
        submit_analysis(user, url=f"http://127.0.0.1:9/clip-{n}.mp4")
        outcomes.append("queued")
    except TooManyActive:
        outcomes.append("refused")
    finally:
        connection.close()
threads = [threading.Thread(target=submit, args=(n,)) for n in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
print("OUTCOMES=" + json.dumps(sorted(outcomes)))
print("ROWS=%d" % user.analyses.count())
"""


def test_active_job_cap_holds_when_submissions_race_on_postgresql(database_url):
    """Eight submissions in eight connections at once, cap 2: exactly two rows, six refusals."""
    require(redis_is_up(), "Redis at 127.0.0.1:6379 (start it: make services)")
    quiet_redis = "redis://127.0.0.1:6379/13"  # no worker reads it: the jobs stay queued
    env = {
        **{k: v for k, v in os.environ.items() if k != "STORAGE_BUCKET"},
        "PYTHONPATH": f"{REPO_ROOT}:{REPO_ROOT / 'platform'}",
        "DJANGO_SETTINGS_MODULE": "unmask.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": quiet_redis,
        "FETCH_ALLOW_HOSTS": "127.0.0.1",
        "ANALYSIS_MAX_ACTIVE_PER_USER": "2",
    }
    manage = [sys.executable, str(REPO_ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, timeout=120)
    try:
        ran = subprocess.run(
            [*manage, "shell", "-c", _SUBMIT_AT_ONCE],
            env=env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
    finally:
        redis.Redis.from_url(quiet_redis).flushdb()
    outcomes = json.loads(ran.stdout.split("OUTCOMES=", 1)[1].splitlines()[0])
    assert outcomes == ["queued"] * 2 + ["refused"] * 6
    assert "ROWS=2" in ran.stdout
