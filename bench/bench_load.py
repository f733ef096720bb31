"""Load on loopback: N concurrent uploads and M websocket watchers against daphne with
PostgreSQL + Redis + Celery workers. Prints API latency p50/p95, websocket event delay,
errors (must be 0) and jobs lost (must be 0). Bounded in count and time; stops by itself.

    bash scripts/services.sh
    .venv/bin/python bench/bench_load.py --uploads 8 --watchers 16 --workers 1
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import psycopg
import redis
import requests
from websockets.sync.client import connect

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "platform")]

from tests.live import LiveServer, start_live_server  # noqa: E402

PG_ADMIN = "postgresql://unmask:unmask@127.0.0.1:5432/unmask"
BENCH_DB = "unmask_bench"
REDIS = "redis://127.0.0.1:6379/12"
GENERIC = "Something went wrong on our side"


def fresh_database() -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + BENCH_DB


def make_videos(root: Path, count: int) -> list[Path]:
    """Distinct one-second clips (distinct content: no result is reused)."""
    source = REPO.parent / "shared" / "data" / "real-videos" / "vr-1.mp4"
    videos = []
    for n in range(count):
        out = root / f"clip-{n}.mp4"
        if source.is_file():
            inputs = ["-ss", f"{n * 0.5:.1f}", "-i", str(source), "-t", "1"]
        else:
            inputs = ["-f", "lavfi", "-i", f"testsrc=duration=1:size=160x160:rate={10 + n}"]
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, "-vf", "scale=192:192",
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-an", str(out)],
            check=True,
        )  # fmt: skip
        videos.append(out)
    return videos


def checkpoint(root: Path) -> tuple[Path, bool]:
    from detection.pipeline import DEFAULT_MODEL_PATH

    if DEFAULT_MODEL_PATH.is_file():
        return DEFAULT_MODEL_PATH, True
    from detection.models import ModelCard, create_model, save_checkpoint

    path = root / "bench-untrained.pt"
    card = ModelCard(
        architecture="cnn_lstm_mobilenet_v2", config={"hidden_size": 32}, frames=8, trained=False
    )
    save_checkpoint(create_model("cnn_lstm_mobilenet_v2", hidden_size=32), card, path)
    return path, False


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency_ms: list[float] = []
        self.delay_ms: list[float] = []
        self.errors: list[str] = []

    def request(self, method: str, url: str, **kwargs) -> requests.Response | None:
        began = time.perf_counter()
        try:
            response = requests.request(method, url, timeout=30, **kwargs)
        except requests.RequestException as exc:
            with self.lock:
                self.errors.append(f"{method} {url}: {exc}")
            return None
        with self.lock:
            self.latency_ms.append((time.perf_counter() - began) * 1000)
            if response.status_code >= 400:
                self.errors.append(f"{method} {url}: {response.status_code}")
        return response


def watch(site: LiveServer, analysis_id: str, stats: Stats, deadline: float) -> None:
    url = f"{site.ws_base}/ws/analyses/{analysis_id}/?token={site.token('alice')}"
    try:
        with connect(url, open_timeout=20) as socket:
            while time.monotonic() < deadline:
                event = json.loads(socket.recv(timeout=max(1.0, deadline - time.monotonic())))
                sent = datetime.fromisoformat(event["updated_at"]).timestamp()
                with stats.lock:
                    stats.delay_ms.append(max(0.0, (time.time() - sent) * 1000))
                if event["status"] in {"done", "failed"}:
                    return
    except Exception as exc:  # a closed socket after the final event is the normal end
        if "1000" not in str(exc):
            with stats.lock:
                stats.errors.append(f"ws {analysis_id}: {exc!r}")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def run(uploads: int, watchers: int, workers: int, limit_s: float) -> int:
    r = redis.Redis.from_url(REDIS)
    r.ping()
    r.flushdb()
    root = Path(tempfile.mkdtemp(prefix="unmask-bench-"))
    model, trained = checkpoint(root)
    site = start_live_server(
        root,
        model_path=model,
        allow_untrained=not trained,
        extra_env={
            "DATABASE_URL": fresh_database(),
            "REDIS_URL": REDIS,
            "ANALYSIS_RUNNER": "celery",
            "ANALYSIS_MAX_ACTIVE_PER_USER": str(uploads + 1),
        },
    )
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "unmask",
                "worker",
                "-Q",
                "detection",
                "--pool",
                "solo",
                "-n",
                f"bench{n}@%h",
                "--loglevel",
                "WARNING",
            ],
            env=site.env,
            cwd=REPO / "platform",
            stdout=(root / f"worker{n}.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for n in range(workers)
    ]
    stats = Stats()
    began = time.monotonic()
    deadline = began + limit_s
    try:
        videos = make_videos(root, uploads)
        headers = site.token_headers("alice")

        def upload(video: Path) -> str | None:
            response = stats.request(
                "POST",
                f"{site.url}/api/v1/analyses/",
                files={"file": (video.name, video.read_bytes(), "video/mp4")},
                headers=headers,
            )
            return response.json()["id"] if response is not None and response.ok else None

        with ThreadPoolExecutor(max_workers=uploads) as pool:
            ids = [i for i in pool.map(upload, videos) if i]
        sockets = [
            threading.Thread(target=watch, args=(site, ids[n % len(ids)], stats, deadline))
            for n in range(watchers if ids else 0)
        ]
        for thread in sockets:
            thread.start()
        finished: dict[str, dict] = {}
        while len(finished) < len(ids) and time.monotonic() < deadline:
            for analysis_id in ids:
                if analysis_id in finished:
                    continue
                response = stats.request(
                    "GET", f"{site.url}/api/v1/analyses/{analysis_id}/", headers=headers
                )
                if response is not None and response.json()["status"] in {"done", "failed"}:
                    finished[analysis_id] = response.json()
            time.sleep(0.5)
        for thread in sockets:
            thread.join(timeout=max(1.0, deadline - time.monotonic()))
        elapsed = time.monotonic() - began
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        site.stop()

    crashed = [a for a in finished.values() if a["status"] == "failed" and GENERIC in a["error"]]
    lost = uploads - len(finished) + len(crashed)
    print(f"uploads={uploads} watchers={watchers} workers={workers} elapsed={elapsed:.1f}s")
    print(f"api requests={len(stats.latency_ms)} latency p50={pct(stats.latency_ms, 50):.1f} ms "
          f"p95={pct(stats.latency_ms, 95):.1f} ms")  # fmt: skip
    print(f"ws events={len(stats.delay_ms)} delay p50={pct(stats.delay_ms, 50):.1f} ms "
          f"p95={pct(stats.delay_ms, 95):.1f} ms")  # fmt: skip
    outcomes = [a["status"] for a in finished.values()]
    print(f"done={outcomes.count('done')} failed={outcomes.count('failed')}")
    print(f"errors={len(stats.errors)} jobs_lost={lost}")
    for error in stats.errors[:10]:
        print("  error:", error)
    return 0 if not stats.errors and not lost else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=8)
    parser.add_argument("--watchers", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--limit-s", type=float, default=420, help="stop after this long")
    args = parser.parse_args()
    sys.exit(run(min(args.uploads, 32), min(args.watchers, 128), args.workers, args.limit_s))


if __name__ == "__main__":
    main()
