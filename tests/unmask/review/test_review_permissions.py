"""Review pages and API are for staff only: others get 403, strangers must log in."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from unmask.review.models import Review

pytestmark = pytest.mark.django_db


@pytest.fixture
def flagged(finished):
    return finished(0.93)


def test_non_staff_get_403_on_review_pages(client, alice, bob, flagged):
    for user in (alice, bob):  # the owner of the analysis too
        client.force_login(user)
        assert client.get("/review/").status_code == 403
        assert client.get(f"/review/{flagged.pk}/").status_code == 403
        assert client.get(f"/review/{flagged.pk}/video").status_code == 403
        response = client.post(f"/review/{flagged.pk}/", {"decision": "real"})
        assert response.status_code == 403
    assert not Review.objects.exists()


def test_strangers_are_sent_to_login(client, flagged):
    response = client.get(f"/review/{flagged.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_unknown_analyses_are_404_for_staff(client, staff):
    client.force_login(staff)
    assert client.get("/review/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_non_staff_get_403_from_the_review_api(alice, flagged):
    api = APIClient()
    api.force_authenticate(alice)
    assert api.get("/api/v1/reviews/queue/").status_code == 403
    assert api.get("/api/v1/reviews/").status_code == 403
    response = api.post(
        "/api/v1/reviews/", {"analysis": str(flagged.pk), "decision": "real"}, format="json"
    )
    assert response.status_code == 403
    assert not Review.objects.exists()


def test_anonymous_callers_get_401_from_the_review_api(flagged):
    assert APIClient().get("/api/v1/reviews/queue/").status_code == 401


def test_the_review_form_needs_the_csrf_token(staff, flagged):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff)
    url = f"/review/{flagged.pk}/"
    assert strict.post(url, {"decision": "real"}).status_code == 403
    strict.get(url)
    token = strict.cookies["csrftoken"].value
    response = strict.post(url, {"decision": "real", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Review.objects.count() == 1
