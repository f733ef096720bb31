"""Limits that keep one person or one link from tying up the service: the fetch byte cap and
deadline (at the fetcher and through the worker) and the per-user submit throttle. The cap on
active jobs per user is proven in tests/unmask/api; upload size, duration and resolution caps
in test_bad_input_api."""

import time
from datetime import datetime

import pytest
import requests
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from detection.errors import FetchError
from detection.fetch import fetch_video
from tests.live import wait_for
from tests.reliability.conftest import FETCH_TIMEOUT_S, is_sentence

CAP = 256 * 1024


def fetch(host, path: str, tmp_path, timeout_s: float = 3):
    return fetch_video(
        f"{host.base}{path}",
        tmp_path,
        max_bytes=CAP,
        max_duration_s=600,
        timeout_s=timeout_s,
        allow_hosts=["127.0.0.1"],
    )


@pytest.mark.parametrize("path", ["/big.mp4", "/endless.mp4"])
def test_a_download_larger_than_the_cap_stops_with_a_sentence(path, hostile_host, tmp_path):
    """/big.mp4 announces 50 MB; /endless.mp4 announces nothing and never ends."""
    began = time.monotonic()
    with pytest.raises(FetchError) as refused:
        fetch(hostile_host, path, tmp_path)
    assert time.monotonic() - began < 20
    assert is_sentence(str(refused.value))
    kept = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert kept <= CAP + 1024 * 1024  # at most one read buffer past the cap


def test_a_slow_drip_is_cut_off_by_the_deadline(hostile_host, tmp_path):
    """Ten bytes every half second never trips a per-read timeout; the whole fetch has one."""
    began = time.monotonic()
    with pytest.raises(FetchError) as refused:
        fetch(hostile_host, "/drip.mp4", tmp_path, timeout_s=3)
    assert time.monotonic() - began < 3 * 3 + 5
    assert is_sentence(str(refused.value))


def test_the_worker_fails_a_dripping_link_in_bounded_time(limits_site, hostile_host):
    began = time.monotonic()
    response = requests.post(
        f"{limits_site.url}/api/v1/analyses/",
        json={"url": f"{hostile_host.base}/drip.mp4"},
        headers=limits_site.token_headers("sam"),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    done = wait_for(limits_site, response.json()["id"], name="sam", timeout_s=120)
    assert done["status"] == "failed" and is_sentence(done["error"]), done
    # Time spent queued behind other jobs aside, the job itself ends near the fetch deadline.
    ran = datetime.fromisoformat(done["finished_at"]) - datetime.fromisoformat(done["started_at"])
    assert ran.total_seconds() < FETCH_TIMEOUT_S * 3 + 10, ran
    assert "/drip.mp4" in hostile_host.hits
    assert time.monotonic() - began < 120


@pytest.fixture
def tight_submit_rate(monkeypatch):
    """Two submissions a minute, as API_THROTTLE_SUBMIT=2/minute would configure."""
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "submit", "2/minute")
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_submissions_are_throttled_per_user(alice, bob, token_api, settings, tight_submit_rate):
    settings.ANALYSIS_MAX_ACTIVE_PER_USER = 0  # only the throttle is under test here
    settings.FETCH_ALLOW_HOSTS = ["127.0.0.1"]
    client = token_api(alice)
    codes = [
        client.post("/api/v1/analyses/", {"url": f"http://127.0.0.1:9/{n}.mp4"}).status_code
        for n in range(3)
    ]
    assert codes == [201, 201, 429]
    refused = client.post("/api/v1/analyses/", {"url": "http://127.0.0.1:9/x.mp4"})
    assert refused.status_code == 429 and "Retry-After" in refused
    assert is_sentence(refused.json()["detail"])
    # Reading is not submitting, and Bob has his own budget.
    assert client.get("/api/v1/analyses/").status_code == 200
    other = token_api(bob).post("/api/v1/analyses/", {"url": "http://127.0.0.1:9/b.mp4"})
    assert other.status_code == 201
