import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.live import PASSWORD


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters live in the cache; each test starts with none used."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def sign_in(api):
    """POST auth/token/ and return the JSON answer (asserting it worked)."""

    def sign_in(user, device: str = "Test laptop") -> dict:
        response = api.post(
            "/api/v1/auth/token/",
            {"username": user.username, "password": PASSWORD, "device": device},
            format="json",
        )
        assert response.status_code == 200, response.content
        return response.json()

    return sign_in


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Django's default hasher costs about a second here; these tests hash often."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
