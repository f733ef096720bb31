"""Bad submissions end in a sentence: too large (413), wrong type (400), not a video (failed)."""

import requests

from tests.live import UPLOAD_MAX_BYTES, wait_for


def post_file(live_site, name: str, content: bytes, user: str = "alice") -> requests.Response:
    return requests.post(
        f"{live_site.url}/api/v1/analyses/",
        files={"file": (name, content, "application/octet-stream")},
        headers=live_site.token_headers(user),
        timeout=60,
    )


def test_too_large_upload_is_refused_with_413_and_a_sentence(live_site):
    response = post_file(live_site, "huge.mp4", b"\0" * (UPLOAD_MAX_BYTES + 200_000))
    assert response.status_code == 413
    assert "larger than the 3.0 MB limit" in response.json()["detail"]

    # The site's upload form (XHR) says the same.
    page = live_site.browser("alice").post(
        f"{live_site.url}/analyses/new/",
        files={"file": ("huge.mp4", b"\0" * (UPLOAD_MAX_BYTES + 200_000))},
        headers={"X-Requested-With": "XMLHttpRequest"},
        timeout=60,
    )
    assert page.status_code == 413
    assert "limit" in page.json()["error"]


def test_a_file_that_is_not_a_video_type_is_refused(live_site):
    response = post_file(live_site, "notes.txt", b"hello")
    assert response.status_code == 400
    assert "“notes.txt” is not one of them" in response.json()["detail"]


def test_a_non_video_file_fails_with_a_sentence(live_site):
    response = post_file(live_site, "holiday.mp4", b"this is plain text, not a video\n" * 50)
    assert response.status_code == 201, response.text
    done = wait_for(live_site, response.json()["id"])
    assert done["status"] == "failed"
    assert done["error"].endswith(".") and "Traceback" not in done["error"]
    assert "video" in done["error"].lower()
    assert done["verdict"] is None
