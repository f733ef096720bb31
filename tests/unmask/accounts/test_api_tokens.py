"""Per-device API tokens: sign in for one, use it, list them, revoke them."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from knox.models import AuthToken

from tests.unmask.accounts.conftest import PASSWORD
from unmask.accounts.models import DeviceToken

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/auth/tokens/"


def auth(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def test_sign_in_returns_a_device_token_with_the_configured_expiry(api, alice):
    before = timezone.now()
    response = api.post(
        "/api/v1/auth/token/",
        {"username": "alice", "password": PASSWORD, "device": "  Chrome   on laptop "},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expiry", "device", "id"}
    assert body["device"] == "Chrome on laptop"
    assert len(body["token"]) == 64
    ttl = settings.REST_KNOX["TOKEN_TTL"]
    token = DeviceToken.objects.get(pk=body["id"])
    assert token.user == alice
    assert before + ttl <= token.expiry <= timezone.now() + ttl


def test_the_token_authenticates_api_requests(api, alice, sign_in):
    key = sign_in(alice)["token"]
    assert api.get(TOKENS).status_code == 401
    response = api.get(TOKENS, **auth(key))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")


def test_device_defaults_to_the_user_agent(api, alice):
    response = api.post(
        "/api/v1/auth/token/",
        {"username": "alice", "password": PASSWORD},
        format="json",
        HTTP_USER_AGENT="unmask-cli/1.0",
    )
    assert response.json()["device"] == "unmask-cli/1.0"


@pytest.mark.parametrize(
    "payload",
    [
        {"username": "alice", "password": "wrong password"},
        {"username": "nobody", "password": PASSWORD},
    ],
)
def test_wrong_credentials_get_a_sentence_and_no_token(api, alice, payload):
    response = api.post("/api/v1/auth/token/", payload, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "The username or password is not correct."}
    assert not AuthToken.objects.exists()


def test_missing_fields_are_named(api, alice):
    response = api.post("/api/v1/auth/token/", {"username": "alice"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()


def test_inactive_users_cannot_sign_in(api, alice):
    alice.is_active = False
    alice.save()
    response = api.post(
        "/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 400


def test_a_stale_token_sent_along_does_not_block_signing_in(api, alice, sign_in):
    old = sign_in(alice)["token"]
    api.delete("/api/v1/auth/token/", **auth(old))
    response = api.post(
        "/api/v1/auth/token/",
        {"username": "alice", "password": PASSWORD, "device": "again"},
        format="json",
        **auth(old),
    )
    assert response.status_code == 200


def test_signing_in_is_throttled_per_address(api, alice):
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["sign_in"]
    allowed = int(rate.split("/")[0])
    for _ in range(allowed):
        bad = api.post(
            "/api/v1/auth/token/", {"username": "alice", "password": "guess"}, format="json"
        )
        assert bad.status_code == 400
    throttled = api.post(
        "/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}, format="json"
    )
    assert throttled.status_code == 429
    assert "Retry-After" in throttled


def test_tokens_are_listed_per_user_with_the_current_one_marked(api, alice, bob, sign_in):
    laptop = sign_in(alice, "laptop")
    sign_in(alice, "phone")
    sign_in(bob, "bob's box")
    response = api.get(TOKENS, **auth(laptop["token"]))
    rows = response.json()["results"]
    assert sorted(row["device"] for row in rows) == ["laptop", "phone"]
    current = [row["device"] for row in rows if row["current"]]
    assert current == ["laptop"]
    assert all("token" not in row for row in rows)
    assert {"id", "device", "created", "expiry", "last_used"} <= set(rows[0])


def test_using_a_token_records_last_used(api, alice, sign_in):
    issued = sign_in(alice)
    assert DeviceToken.objects.get(pk=issued["id"]).last_used is None
    api.get(TOKENS, **auth(issued["token"]))
    assert DeviceToken.objects.get(pk=issued["id"]).last_used is not None


def test_delete_auth_token_revokes_only_the_calling_token(api, alice, sign_in):
    laptop = sign_in(alice, "laptop")["token"]
    phone = sign_in(alice, "phone")["token"]
    assert api.delete("/api/v1/auth/token/", **auth(laptop)).status_code == 204
    assert api.get(TOKENS, **auth(laptop)).status_code == 401
    assert api.get(TOKENS, **auth(phone)).status_code == 200


def test_delete_auth_token_needs_token_authentication(api, alice, sign_in):
    sign_in(alice)
    api.force_login(alice)  # a browser session has no token to revoke
    assert api.delete("/api/v1/auth/token/").status_code == 401
    assert AuthToken.objects.count() == 1


def test_revoking_a_token_by_id_signs_that_device_out(api, alice, sign_in):
    laptop = sign_in(alice, "laptop")
    phone = sign_in(alice, "phone")
    response = api.delete(f"{TOKENS}{phone['id']}/", **auth(laptop["token"]))
    assert response.status_code == 204
    assert api.get(TOKENS, **auth(phone["token"])).status_code == 401
    assert [
        row["device"] for row in api.get(TOKENS, **auth(laptop["token"])).json()["results"]
    ] == ["laptop"]


def test_another_users_token_cannot_be_revoked(api, alice, bob, sign_in):
    alices = sign_in(alice)
    bobs = sign_in(bob)
    response = api.delete(f"{TOKENS}{alices['id']}/", **auth(bobs["token"]))
    assert response.status_code == 404
    assert api.get(TOKENS, **auth(alices["token"])).status_code == 200


def test_expired_tokens_are_refused_and_unlisted(api, alice, sign_in):
    expired = sign_in(alice, "old")
    fresh = sign_in(alice, "new")
    AuthToken.objects.filter(device_token__pk=expired["id"]).update(
        expiry=timezone.now() - timedelta(seconds=1)
    )
    assert api.get(TOKENS, **auth(expired["token"])).status_code == 401
    rows = api.get(TOKENS, **auth(fresh["token"])).json()["results"]
    assert [row["device"] for row in rows] == ["new"]


def test_garbage_tokens_are_refused(api, alice, sign_in):
    sign_in(alice)
    for header in ["Token nothex!", "Token " + "0" * 64, "Token", "Token a b"]:
        assert api.get(TOKENS, HTTP_AUTHORIZATION=header).status_code == 401


def test_a_knox_token_without_a_device_is_refused(api, alice):
    """Every working token must be visible (and revocable) on the profile page."""
    _, key = AuthToken.objects.create(user=alice)
    assert api.get(TOKENS, **auth(key)).status_code == 401
