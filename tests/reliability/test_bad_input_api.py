"""The hostile corpus through the API and the embedded worker of a real server: each upload ends
`done` or `failed` with a sentence (never our generic crash message), and the same worker then
still serves an ordinary video."""

import time

import pytest
import requests

from tests.live import wait_for
from tests.reliability.conftest import UPLOAD_MAX_BYTES, is_sentence
from unmask.analyses.jobs import GENERIC_FAILURE

# A few odd-but-real videos run the whole engine here; the CLI test runs every one of them.
ENGINE_RUNS = ("rotated.mp4", "vfr.mkv", "av1.mp4", "hevc.mp4")


@pytest.fixture(scope="module")
def outcomes(limits_site, corpus, face_clip) -> dict[str, dict]:
    """Upload every refused or doubtful file, a few real ones, then an ordinary clip last."""
    chosen = [c for c in corpus.values() if c.outcome != "result" or c.name in ENGINE_RUNS]
    ids: dict[str, str] = {}
    for case in chosen:
        response = limits_site.upload(
            case.path, filename=case.name, content_type="application/octet-stream"
        )
        if case.name == "empty.mp4":
            assert response.status_code == 400
            assert response.json()["detail"] == "This file is empty. Choose a video file."
            continue
        assert response.status_code == 201, (case.name, response.text)
        ids[case.name] = response.json()["id"]
    last = limits_site.upload(face_clip, filename="after-the-storm.mp4")
    assert last.status_code in {200, 201}, last.text
    ids["after-the-storm.mp4"] = last.json()["id"]
    return {name: wait_for(limits_site, id_, timeout_s=300) for name, id_ in ids.items()}


def test_each_bad_upload_ends_with_a_sentence_or_a_result(outcomes, corpus):
    for name, detail in outcomes.items():
        case = corpus.get(name)
        if detail["status"] == "failed":
            assert is_sentence(detail["error"]), (name, detail["error"])
            assert detail["error"] != GENERIC_FAILURE, f"{name} crashed the job"
            assert detail["verdict"] is None and detail["finished_at"]
        if case is None:
            continue
        if case.outcome == "refused":
            assert detail["status"] == "failed", (name, detail)
            assert case.sentence in detail["error"].lower(), (name, detail["error"])
        elif case.outcome == "result":
            assert detail["status"] == "done", (name, detail["error"])
            assert detail["verdict"] in case.verdicts


def test_the_same_worker_still_serves_the_next_job(outcomes):
    after = outcomes["after-the-storm.mp4"]
    assert after["status"] == "done", after["error"]
    assert 1 <= after["frames_analyzed"] <= 8  # DETECTION_FRAMES caps decoded frames


def test_limits_on_size_and_length_are_sentences_on_the_result_page(limits_site, outcomes):
    page = limits_site.browser("alice").get(
        f"{limits_site.url}/analyses/{outcomes['huge_8k.mp4']['id']}/", timeout=10
    )
    assert page.status_code == 200
    assert "7680×4320 pixels, larger than this server accepts." in page.text
    assert "limit is 60.0 minutes" in outcomes["four_hours.mp4"]["error"]


def test_an_upload_without_a_declared_length_is_still_held_to_the_limit(limits_site):
    """A chunked body has no Content-Length for the early size check. Django reads no multipart
    body without one, so it is refused with a sentence and nothing is stored."""
    boundary = "reliabilityboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()

    def body():
        yield head
        for _ in range(UPLOAD_MAX_BYTES // 65536 + 8):
            yield b"\0" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    before = time.monotonic()
    response = requests.post(
        f"{limits_site.url}/api/v1/analyses/",
        data=body(),
        headers={
            **limits_site.token_headers("bob"),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        timeout=60,
    )
    assert response.status_code in {400, 413}, response.text
    assert is_sentence(response.json()["detail"])
    assert time.monotonic() - before < 30
    listing = requests.get(
        f"{limits_site.url}/api/v1/analyses/", headers=limits_site.token_headers("bob"), timeout=10
    )
    assert listing.json()["count"] == 0
