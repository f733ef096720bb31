"""Site pages: history filters and search, result page wording, sharing, Range on media."""

from datetime import timedelta

import pytest
from django.utils import timezone

from unmask.analyses.media import parse_range
from unmask.analyses.models import Analysis
from unmask.analyses.progress import mark_done, mark_failed

RESULT = {
    "verdict": "fake",
    "fake_probability": 0.83,
    "tracks": [],
    "per_frame": [{"index": 0, "time_s": 0.0, "score": 0.83, "track": 0}],
    "quality": ["The video is very short."],
    "model": {
        "name": "cnn_lstm",
        "version": "v-3",
        "threshold": 0.5,
        "uncertain_band": [0.35, 0.65],
    },
}


@pytest.fixture
def history(alice, bob):
    fake = Analysis.objects.create(owner=alice, source_name="speech.mp4")
    mark_done(fake, RESULT)
    old = Analysis.objects.create(
        owner=alice,
        source_url="https://videos.example/interview",
        created_at=timezone.now() - timedelta(days=40),
    )
    mark_failed(old, "The video could not be decoded.")
    Analysis.objects.create(owner=bob, source_name="speech-bob.mp4")
    return fake, old


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"speech.mp4", "https://videos.example/interview"}),
        ("q=speech", {"speech.mp4"}),
        ("q=interview", {"https://videos.example/interview"}),
        ("verdict=fake", {"speech.mp4"}),
        ("status=failed", {"https://videos.example/interview"}),
        (f"since={(timezone.now() - timedelta(days=7)).date()}", {"speech.mp4"}),
    ],
)
def test_history_filters_and_searches_only_your_own(client, alice, history, query, expected):
    client.force_login(alice)
    page = client.get(f"/analyses/?{query}")
    shown = {a.display_name for a in page.context["page"].object_list}
    assert shown == expected


@pytest.mark.django_db
def test_result_page_says_the_verdict_in_plain_words(client, alice, history):
    client.force_login(alice)
    fake, _ = history
    html = client.get(f"/analyses/{fake.id}/").content.decode()
    assert "Likely fake" in html
    assert "chance that the faces are fake at 83%" in html
    assert (
        "Scores between 35% and 65% are called uncertain: the model leans one way there, but "
        "not far enough to call the video fake or to clear it." in html
    )
    assert "The video is very short." in html
    # Named as people should cite it, linked to its card; never by the internal class name.
    assert '<a href="/model/">Unmask detector v-3</a>' in html
    assert "cnn_lstm" not in html.split('<script id="model-card"')[0]


@pytest.mark.django_db
def test_the_model_card_page_shows_the_shipped_card(client, settings, tmp_path):
    settings.DETECTION_MODEL_CARD = tmp_path / "MODEL_CARD.md"
    settings.DETECTION_MODEL_CARD.write_text(
        "# Unmask detector v-3\n\n| set | AUC |\n|---|---|\n| test | 0.875 |\n"
    )
    html = client.get("/model/").content.decode()
    assert "<h1>Unmask detector v-3</h1>" in html
    assert "<td>0.875</td>" in html
    settings.DETECTION_MODEL_CARD = tmp_path / "missing.md"
    assert "ships no model card" in client.get("/model/").content.decode()


@pytest.mark.django_db
def test_a_public_link_works_until_sharing_is_turned_off(client, alice, history):
    fake, _ = history
    client.force_login(alice)
    client.post(f"/analyses/{fake.id}/share/", {"enabled": "1"})
    fake.refresh_from_db()
    link = f"/analyses/shared/{fake.share_token}/"
    client.logout()
    assert client.get(link).status_code == 200
    client.force_login(alice)
    client.post(f"/analyses/{fake.id}/share/", {"enabled": "0"})
    client.logout()
    assert client.get(link).status_code == 404


@pytest.mark.django_db
def test_pages_need_a_login(client, history):
    fake, _ = history
    for path in ("/analyses/", "/analyses/new/", f"/analyses/{fake.id}/"):
        response = client.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=900-5000", (900, 999)),
        ("bytes=1000-", (-1, -1)),
        ("", None),
        ("items=0-1", None),
    ],
)
def test_range_headers(header, expected):
    assert parse_range(header, 1000) == expected


@pytest.mark.django_db
def test_home_and_new_pages_render(client, alice):
    assert "Create an account" in client.get("/").content.decode()
    client.force_login(alice)
    assert "Check a video" in client.get("/").content.decode()
    form = client.get("/analyses/new/").content.decode()
    assert 'id="dropzone"' in form and "unmask/upload.js" in form
