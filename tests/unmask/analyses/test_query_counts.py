"""Lists and progress writes cost a fixed number of queries, however many rows or reviews.

Every status payload carries the latest review (an original's, for a reused copy); rows read
through `with_status()` bring those reviews in one prefetch instead of a query per row.
"""

import pytest
from django.test import Client

from unmask.analyses.models import Analysis, Status
from unmask.analyses.progress import mark_done, report
from unmask.review.models import Review

RESULT = {
    "verdict": "fake",
    "fake_probability": 0.9,  # above the review threshold: every row is flagged
    "tracks": [],
    "per_frame": [],
    "quality": [],
    "model": {"name": "cnn_lstm", "version": "v-1", "uncertain_band": [0.4, 0.6]},
}
ROWS = 20


@pytest.fixture
def rows(alice, staff):
    """ROWS finished analyses of alice: half reviewed, and a reused copy of a reviewed one."""
    made = []
    for n in range(ROWS - 1):
        analysis = Analysis.objects.create(owner=alice, source_name=f"clip-{n}.mp4")
        mark_done(analysis, RESULT)
        if n % 2:
            Review.objects.create(analysis=analysis, reviewer=staff, decision="real")
        made.append(analysis)
    copy = Analysis.objects.create(owner=alice, source_name="copy.mp4")
    mark_done(copy, RESULT, reused_from=made[1])
    return [*made, copy]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_history_page_of_twenty_rows(rows, alice, django_assert_num_queries):
    client = signed_in(alice)
    # session, user, count, the page's rows
    with django_assert_num_queries(4):
        response = client.get("/analyses/")
    assert response.status_code == 200
    assert response.content.decode().count('class="badge verdict-fake"') == ROWS


@pytest.mark.django_db
def test_the_api_history_of_twenty_rows(rows, alice, token_api, django_assert_num_queries):
    api = token_api(alice)
    # the token (4: token with user, the user's tokens, the device, its last use), count,
    # rows with their originals, their reviews, the originals' reviews
    with django_assert_num_queries(8):
        page = api.get("/api/v1/analyses/").json()
    assert len(page["results"]) == ROWS
    reviewed = {row["source_name"] for row in page["results"] if row["review"]}
    assert reviewed == {f"clip-{n}.mp4" for n in range(1, ROWS - 1, 2)} | {"copy.mp4"}


@pytest.mark.django_db
def test_the_review_queue(rows, staff, token_api, django_assert_num_queries):
    api = token_api(staff)
    # the token (4), count, rows with owners and originals, their reviews (no row in the queue
    # is a copy: copies are never flagged, so the originals' reviews cost nothing)
    with django_assert_num_queries(7):
        page = api.get("/api/v1/reviews/queue/").json()
    unreviewed = {f"clip-{n}.mp4" for n in range(0, ROWS - 1, 2)}
    assert {row["source_name"] for row in page["results"]} == unreviewed
    assert all(row["owner"] == "alice" for row in page["results"])
    client = signed_in(staff)
    # session, user, count of the tab, the tab's rows, the waiting count
    with django_assert_num_queries(5):
        assert client.get("/review/").status_code == 200


@pytest.mark.django_db
def test_a_progress_write(alice, django_assert_num_queries):
    analysis = Analysis.objects.create(owner=alice, status=Status.DECODING)
    # the UPDATE, the row (with its original) for the event, its reviews
    with django_assert_num_queries(3):
        assert report(analysis.id, stage=Status.DETECTING_FACES, progress=40)
