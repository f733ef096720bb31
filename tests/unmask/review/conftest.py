import pytest

from unmask.analyses.models import Analysis, Status
from unmask.analyses.progress import mark_done

FAKE_RESULT = {
    "verdict": "fake",
    "fake_probability": 0.93,
    "frames_analyzed": 2,
    "faces_found": 1,
    "tracks": [{"id": 0, "frames": [0, 1], "boxes": [], "score": 0.93, "thumbnail": ""}],
    "per_frame": [
        {"index": 0, "time_s": 0.0, "score": 0.91, "track": 0},
        {"index": 1, "time_s": 0.5, "score": 0.95, "track": 0},
    ],
    "quality": ["The face is small in some frames."],
    "model": {
        "name": "cnn_lstm",
        "version": "test-1",
        "threshold": 0.5,
        "uncertain_band": [0.4, 0.6],
    },
}


@pytest.fixture
def finished(alice):
    """Make one of alice's analyses finish with a given probability (the real finishing path)."""

    def finished(probability: float, name: str = "clip.mp4") -> Analysis:
        analysis = Analysis.objects.create(owner=alice, source_name=name, status=Status.SCORING)
        verdict = "fake" if probability >= 0.6 else "real" if probability <= 0.4 else "uncertain"
        assert mark_done(
            analysis, {**FAKE_RESULT, "fake_probability": probability, "verdict": verdict}
        )
        analysis.refresh_from_db()
        return analysis

    return finished


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Django's default hasher costs about a second here; these tests hash often."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
