"""The analyses API: submit, list own, detail shape, delete with media, limits, reuse."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from unmask.analyses.models import Analysis, Status
from unmask.analyses.preview import preview_name
from unmask.analyses.progress import mark_done

RESULT = {
    "verdict": "fake",
    "fake_probability": 0.91,
    "frames_analyzed": 8,
    "faces_found": 1,
    "tracks": [{"id": 0, "frames": [0], "boxes": [[1, 2, 3, 4]], "score": 0.91, "thumbnail": ""}],
    "per_frame": [{"index": 0, "time_s": 0.0, "score": 0.91, "track": 0}],
    "quality": [],
    "model": {
        "name": "cnn_lstm",
        "version": "v-7",
        "threshold": 0.5,
        "uncertain_band": [0.35, 0.65],
    },
}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="video/mp4")


@pytest.mark.django_db
def test_submit_returns_the_job_and_where_to_follow_it(alice, token_api, sample_video):
    response = token_api(alice).post("/api/v1/analyses/", {"file": upload(sample_video)})
    assert response.status_code == 201
    body = response.json()
    analysis = Analysis.objects.get(pk=body["id"])
    assert analysis.owner == alice and analysis.status == Status.QUEUED
    assert body["ws_url"] == f"ws://testserver/ws/analyses/{analysis.id}/"
    assert body["result_url"] == f"http://testserver/analyses/{analysis.id}/"
    assert Path(analysis.source.path).read_bytes() == sample_video.read_bytes()
    assert len(analysis.content_hash) == 64


@pytest.mark.django_db
def test_detail_carries_the_contract_fields(alice, session_api, sample_video):
    client = session_api(alice)
    created = client.post("/api/v1/analyses/", {"file": upload(sample_video)}).json()
    mark_done(Analysis.objects.get(pk=created["id"]), RESULT)
    body = client.get(f"/api/v1/analyses/{created['id']}/").json()
    for key in ("id", "status", "stage", "progress", "verdict", "fake_probability", "error",
                "tracks", "per_frame", "review", "source_name", "source_url", "created_at",
                "finished_at", "result_url", "ws_url"):  # fmt: skip
        assert key in body, key
    assert (body["status"], body["verdict"], body["fake_probability"]) == ("done", "fake", 0.91)
    assert body["tracks"][0]["boxes"] == [[1, 2, 3, 4]]
    assert body["is_flagged"] is True  # 0.91 is above the review threshold


@pytest.mark.django_db
def test_list_shows_only_your_own_newest_first_and_paginated(alice, bob, token_api):
    for n in range(21):  # one more than a page
        Analysis.objects.create(owner=alice, source_name=f"alice-{n}.mp4")
    Analysis.objects.create(owner=bob, source_name="bob.mp4")
    page = token_api(alice).get("/api/v1/analyses/").json()
    assert page["count"] == 21
    names = [a["source_name"] for a in page["results"]]
    assert names[:2] == ["alice-20.mp4", "alice-19.mp4"] and len(names) == 20
    assert "bob.mp4" not in names
    assert page["next"]


@pytest.mark.django_db
def test_delete_removes_the_row_the_stored_video_and_its_preview(alice, token_api, sample_video):
    client = token_api(alice)
    created = client.post("/api/v1/analyses/", {"file": upload(sample_video)}).json()
    analysis = Analysis.objects.get(pk=created["id"])
    stored = Path(analysis.source.path)
    assert stored.is_file()
    preview = Path(analysis.source.storage.path(preview_name(analysis)))
    preview.write_bytes(b"preview")  # as the worker leaves one beside an unplayable original
    assert client.delete(f"/api/v1/analyses/{created['id']}/").status_code == 204
    assert not Analysis.objects.filter(pk=created["id"]).exists()
    assert not stored.exists() and not preview.exists()
    assert client.get(f"/api/v1/analyses/{created['id']}/").status_code == 404


@pytest.mark.django_db
def test_too_many_active_jobs_get_429_with_a_sentence(
    alice, token_api, settings, sample_video, other_video
):
    settings.ANALYSIS_MAX_ACTIVE_PER_USER = 1
    client = token_api(alice)
    assert client.post("/api/v1/analyses/", {"file": upload(sample_video)}).status_code == 201
    again = client.post("/api/v1/analyses/", {"file": upload(other_video)})
    assert again.status_code == 429
    assert "1 checks in progress" in again.json()["detail"]


@pytest.mark.django_db
def test_a_file_and_a_link_together_are_refused(alice, token_api, sample_video):
    response = token_api(alice).post(
        "/api/v1/analyses/", {"file": upload(sample_video), "url": "https://93.184.215.14/v.mp4"}
    )
    assert response.status_code == 400
    assert "just one" in response.json()["detail"]


@pytest.mark.django_db
def test_an_identical_video_reuses_the_finished_result(alice, bob, token_api, sample_video):
    first = token_api(alice).post("/api/v1/analyses/", {"file": upload(sample_video)}).json()
    original = Analysis.objects.get(pk=first["id"])
    mark_done(original, RESULT)

    again = token_api(bob).post("/api/v1/analyses/", {"file": upload(sample_video)})
    assert again.status_code == 200
    body = again.json()
    assert body["status"] == "done" and body["reused"] is True
    assert body["fake_probability"] == 0.91
    copy = Analysis.objects.get(pk=body["id"])
    assert copy.owner == bob and copy.reused_from == original
    assert not copy.is_flagged  # the original is already in the review queue


@pytest.mark.django_db
def test_a_new_model_version_does_not_reuse_old_results(
    alice, token_api, sample_video, other_video
):
    client = token_api(alice)
    old = Analysis.objects.get(
        pk=client.post("/api/v1/analyses/", {"file": upload(sample_video)}).json()["id"]
    )
    mark_done(old, RESULT)
    newer = Analysis.objects.get(
        pk=client.post("/api/v1/analyses/", {"file": upload(other_video)}).json()["id"]
    )
    mark_done(newer, {**RESULT, "model": {**RESULT["model"], "version": "v-8"}})
    response = client.post("/api/v1/analyses/", {"file": upload(sample_video)})
    assert response.status_code == 201  # checked again by v-8


@pytest.mark.django_db
def test_owner_can_report_a_result_for_review(alice, token_api):
    analysis = Analysis.objects.create(owner=alice, source_name="a.mp4")
    mark_done(analysis, {**RESULT, "fake_probability": 0.1, "verdict": "real"})
    response = token_api(alice).post(
        f"/api/v1/analyses/{analysis.id}/report/", {"reason": "I know this person"}, format="json"
    )
    assert response.status_code == 200
    analysis.refresh_from_db()
    assert analysis.is_flagged and analysis.reported_by_owner
    assert analysis.flag_reason == "Reported by its owner: I know this person"


@pytest.mark.django_db
def test_anonymous_callers_get_nothing(client):
    assert client.get("/api/v1/analyses/").status_code in {401, 403}


@pytest.mark.django_db
def test_schema_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/analyses/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn." not in docs.content and b"jsdelivr" not in docs.content


@pytest.mark.django_db
def test_the_limits_and_words_clients_show_come_from_the_server(alice, token_api, settings):
    settings.UPLOAD_MAX_BYTES = 3 * 1024 * 1024
    limits = token_api(alice).get("/api/v1/analyses/limits/").json()
    assert limits["upload_max_bytes"] == 3 * 1024 * 1024
    assert limits["upload_max_size"] == "3.0 MB"
    assert "mp4" in limits["upload_extensions"]
    assert limits["verdict_labels"]["fake"] == "Likely fake"
    assert set(limits["verdict_labels"]) == {"real", "fake", "uncertain", "no_face"}
