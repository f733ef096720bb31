"""The profile page lists the user's API tokens and revokes them."""

import pytest
from knox.models import AuthToken

from unmask.accounts.models import DeviceToken
from unmask.accounts.services import issue_token

pytestmark = pytest.mark.django_db


def test_profile_lists_only_my_working_tokens(client, alice, bob):
    issue_token(alice, "Alice's laptop")
    issue_token(bob, "Bob's phone")
    client.force_login(alice)
    page = client.get("/accounts/profile/").content.decode()
    assert "Alice&#x27;s laptop" in page
    assert "Bob" not in page


def test_a_token_made_on_the_profile_is_shown_once_and_works(client, alice, api):
    client.force_login(alice)
    response = client.post("/accounts/profile/", {"device": "backup script"})
    assert response.status_code == 200
    key = response.context["new_key"]
    assert key in response.content.decode()
    assert DeviceToken.objects.get().device == "backup script"
    assert api.get("/api/v1/auth/tokens/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    assert key not in client.get("/accounts/profile/").content.decode()


def test_revoke_button_revokes(client, alice, api):
    issued = issue_token(alice, "old phone")
    client.force_login(alice)
    response = client.post(f"/accounts/tokens/{issued.token.pk}/revoke/", follow=True)
    assert response.status_code == 200
    assert "revoked" in response.content.decode()
    assert not AuthToken.objects.exists()
    assert (
        api.get("/api/v1/auth/tokens/", HTTP_AUTHORIZATION=f"Token {issued.key}").status_code == 401
    )


def test_revoking_needs_a_post(client, alice):
    issued = issue_token(alice, "phone")
    client.force_login(alice)
    assert client.get(f"/accounts/tokens/{issued.token.pk}/revoke/").status_code == 405
    assert DeviceToken.objects.exists()


def test_nobody_can_revoke_someone_elses_token(client, alice, bob):
    issued = issue_token(alice, "phone")
    client.force_login(bob)
    assert client.post(f"/accounts/tokens/{issued.token.pk}/revoke/").status_code == 404
    assert DeviceToken.objects.filter(pk=issued.token.pk).exists()
