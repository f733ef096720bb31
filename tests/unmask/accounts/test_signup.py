import pytest
from django.contrib.auth import get_user_model

from tests.unmask.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def signup_form(**overrides) -> dict:
    return {
        "username": "carol",
        "email": "carol@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
        **overrides,
    }


def test_signing_up_creates_the_account_and_signs_in(client):
    page = client.get("/accounts/signup/")
    assert page.status_code == 200
    response = client.post("/accounts/signup/", signup_form())
    assert response.status_code == 302
    carol = get_user_model().objects.get(username="carol")
    assert carol.email == "carol@example.com"
    assert not carol.is_staff
    assert client.session["_auth_user_id"] == str(carol.pk)
    assert client.get("/accounts/profile/").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "sentence"),
    [
        ({"password2": "something else entirely"}, "two password fields"),
        ({"password1": "1234", "password2": "1234"}, "too short"),
        ({"email": "not an address"}, "valid email"),
        ({"email": ""}, "required"),
    ],
)
def test_bad_sign_ups_are_explained(client, overrides, sentence):
    response = client.post("/accounts/signup/", signup_form(**overrides))
    assert response.status_code == 200
    assert sentence in response.content.decode()
    assert not get_user_model().objects.filter(username="carol").exists()


def test_an_e_mail_address_has_one_account(client, alice):
    response = client.post("/accounts/signup/", signup_form(email=alice.email.upper()))
    assert "already exists" in response.content.decode()
    assert not get_user_model().objects.filter(username="carol").exists()


def test_signed_in_people_are_sent_on_from_the_signup_page(client, alice):
    client.force_login(alice)
    assert client.get("/accounts/signup/").status_code == 302
