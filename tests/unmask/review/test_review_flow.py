"""Flag → queue → staff review → the owner sees the reviewed verdict; every review is kept."""

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from rest_framework.test import APIClient

from unmask.analyses.services import report_analysis
from unmask.analyses.status import status_of
from unmask.review.models import Decision, Review
from unmask.review.services import record_review, review_queue, reviewed_analyses

pytestmark = pytest.mark.django_db


def test_a_high_score_enters_the_queue_and_a_low_one_does_not(finished):
    flagged = finished(0.93)
    calm = finished(0.05)
    assert flagged.is_flagged
    assert list(review_queue()) == [flagged]
    report_analysis(calm, "My face was swapped, I am sure")
    assert set(review_queue()) == {flagged, calm}


def test_staff_review_through_the_site_and_the_owner_sees_it(client, alice, staff, finished):
    analysis = finished(0.93, name="speech.mp4")
    client.force_login(staff)
    queue_page = client.get("/review/").content.decode()
    assert "speech.mp4" in queue_page

    page = client.get(f"/review/{analysis.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Likely fake" in body
    assert "The face is small in some frames." in body

    response = client.post(
        f"/review/{analysis.pk}/",
        {"decision": Decision.CONFIRMED_FAKE, "note": "Blending seams at 0.5 s."},
    )
    assert response.status_code == 302
    assert "speech.mp4" not in client.get("/review/").content.decode()
    assert "speech.mp4" in client.get("/review/?tab=reviewed").content.decode()

    owner = APIClient()
    owner.force_authenticate(alice)
    detail = owner.get(f"/api/v1/analyses/{analysis.pk}/").json()
    assert detail["verdict"] == "fake"
    assert detail["review"]["decision"] == "confirmed_fake"
    assert detail["review"]["note"] == "Blending seams at 0.5 s."
    client.force_login(alice)
    result_page = client.get(f"/analyses/{analysis.pk}/").content.decode()
    assert "Likely fake" in result_page
    assert "Confirmed fake" in result_page


def test_every_review_is_kept_and_the_newest_stands(alice, staff, admin_user, finished):
    analysis = finished(0.93)
    first = record_review(analysis, staff, Decision.CONFIRMED_FAKE, "seams")
    second = record_review(analysis, admin_user, Decision.REAL, "it was a filter")
    assert list(analysis.reviews.all()) == [second, first]
    assert analysis.latest_review() == second
    assert status_of(analysis)["review"]["decision"] == "real"
    assert list(reviewed_analyses()) == [analysis]


def test_a_bad_review_form_is_explained_and_records_nothing(client, staff, finished):
    analysis = finished(0.93)
    client.force_login(staff)
    response = client.post(f"/review/{analysis.pk}/", {"decision": "maybe"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Review.objects.exists()


def test_only_staff_can_record_a_review(alice, finished):
    analysis = finished(0.93)
    with pytest.raises(PermissionDenied):
        record_review(analysis, alice, Decision.REAL)
    assert not Review.objects.exists()


def test_a_removed_reviewer_stays_on_record(staff, finished):
    analysis = finished(0.93)
    review = record_review(analysis, staff, Decision.INCONCLUSIVE)
    staff.delete()
    review.refresh_from_db()
    assert review.reviewer is None
    assert review.reviewer_name == "former staff"


def test_staff_watch_the_video_and_can_seek(client, staff, finished, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    analysis = finished(0.93)
    analysis.source.save("clip.mp4", ContentFile(b"0123456789" * 100))
    client.force_login(staff)
    page = client.get(f"/review/{analysis.pk}/").content.decode()
    assert f'src="/review/{analysis.pk}/video"' in page
    part = client.get(f"/review/{analysis.pk}/video", HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == b"0123456789"


def test_names_are_escaped_on_review_pages(client, staff, finished):
    analysis = finished(0.93, name="<script>alert(1)</script>.mp4")
    client.force_login(staff)
    for url in ("/review/", f"/review/{analysis.pk}/"):
        body = client.get(url).content.decode()
        assert "<script>alert(1)" not in body
        assert "&lt;script&gt;alert(1)" in body
