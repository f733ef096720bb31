import pytest
from rest_framework.test import APIClient

from unmask.review.models import Review

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_api(staff):
    api = APIClient()
    api.force_authenticate(staff)
    return api


def test_queue_lists_flagged_unreviewed_analyses(staff_api, finished):
    flagged = finished(0.93)
    finished(0.05)
    rows = staff_api.get("/api/v1/reviews/queue/").json()["results"]
    assert [row["id"] for row in rows] == [str(flagged.pk)]
    assert rows[0]["owner"] == "alice"
    assert "at or above the review threshold" in rows[0]["flag_reason"]


def test_posting_a_review_records_it_and_empties_the_queue(staff_api, staff, finished):
    flagged = finished(0.93)
    response = staff_api.post(
        "/api/v1/reviews/",
        {"analysis": str(flagged.pk), "decision": "confirmed_fake", "note": "seams"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["decision"] == "confirmed_fake"
    assert body["decision_label"] == "Confirmed fake"
    assert body["reviewer"] == staff.username
    assert Review.objects.get().reviewer == staff
    assert staff_api.get("/api/v1/reviews/queue/").json()["results"] == []
    history = staff_api.get(f"/api/v1/reviews/?analysis={flagged.pk}").json()["results"]
    assert [row["id"] for row in history] == [body["id"]]


@pytest.mark.parametrize(
    "payload",
    [
        {"decision": "confirmed_fake"},
        {"analysis": "00000000-0000-0000-0000-000000000000", "decision": "real"},
        {"analysis": "not-a-uuid", "decision": "real"},
    ],
)
def test_bad_review_requests_are_refused_with_reasons(staff_api, payload):
    response = staff_api.post("/api/v1/reviews/", payload, format="json")
    assert response.status_code == 400
    assert "analysis" in response.json()
    assert not Review.objects.exists()


def test_an_unknown_decision_is_refused(staff_api, finished):
    flagged = finished(0.93)
    response = staff_api.post(
        "/api/v1/reviews/", {"analysis": str(flagged.pk), "decision": "fake-ish"}, format="json"
    )
    assert response.status_code == 400
    assert "decision" in response.json()
