"""The Django admin for staff: analyses filtered by status/verdict/flag, reviews inline."""

import pytest

from unmask.review.models import Decision, Review
from unmask.review.services import record_review

pytestmark = pytest.mark.django_db


def test_analysis_changelist_filters_by_flag_and_verdict(admin_client, finished):
    flagged = finished(0.93, name="flagged.mp4")
    finished(0.05, name="calm.mp4")
    page = admin_client.get("/admin/analyses/analysis/", {"is_flagged__exact": "1"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "flagged.mp4" in body
    assert "calm.mp4" not in body
    by_verdict = admin_client.get("/admin/analyses/analysis/", {"verdict__exact": "real"})
    assert "calm.mp4" in by_verdict.content.decode()
    assert str(flagged.pk) not in by_verdict.content.decode()


def test_analysis_page_shows_its_reviews_inline(admin_client, admin_user, finished):
    analysis = finished(0.93)
    record_review(analysis, admin_user, Decision.CONFIRMED_FAKE, "seams at the jaw")
    page = admin_client.get(f"/admin/analyses/analysis/{analysis.pk}/change/")
    assert page.status_code == 200
    assert "seams at the jaw" in page.content.decode()


def test_reviews_cannot_be_deleted_in_the_admin(admin_client, admin_user, finished):
    review = record_review(finished(0.93), admin_user, Decision.REAL)
    response = admin_client.post(f"/admin/review/review/{review.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert Review.objects.filter(pk=review.pk).exists()
