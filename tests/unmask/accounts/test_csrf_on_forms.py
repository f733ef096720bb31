"""Every site form refuses a POST without the CSRF token and accepts one with it."""

import pytest
from django.test import Client

from tests.unmask.accounts.conftest import PASSWORD
from unmask.accounts.models import DeviceToken
from unmask.accounts.services import issue_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def strict():
    return Client(enforce_csrf_checks=True)


def csrf_token(client: Client, page: str) -> str:
    assert client.get(page).status_code == 200
    return client.cookies["csrftoken"].value


def test_login_needs_the_csrf_token(strict, alice):
    form = {"username": "alice", "password": PASSWORD}
    assert strict.post("/accounts/login/", form).status_code == 403
    form["csrfmiddlewaretoken"] = csrf_token(strict, "/accounts/login/")
    assert strict.post("/accounts/login/", form).status_code == 302


def test_signup_needs_the_csrf_token(strict):
    form = {
        "username": "carol",
        "email": "c@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    assert strict.post("/accounts/signup/", form).status_code == 403
    form["csrfmiddlewaretoken"] = csrf_token(strict, "/accounts/signup/")
    assert strict.post("/accounts/signup/", form).status_code == 302


def test_logout_needs_the_csrf_token(strict, alice):
    strict.force_login(alice)
    assert strict.post("/accounts/logout/").status_code == 403
    token = csrf_token(strict, "/accounts/profile/")
    assert strict.post("/accounts/logout/", {"csrfmiddlewaretoken": token}).status_code == 302


def test_password_change_needs_the_csrf_token(strict, alice):
    strict.force_login(alice)
    form = {
        "old_password": PASSWORD,
        "new_password1": "x" * 20 + "yz1",
        "new_password2": "x" * 20 + "yz1",
    }
    assert strict.post("/accounts/password_change/", form).status_code == 403
    form["csrfmiddlewaretoken"] = csrf_token(strict, "/accounts/password_change/")
    assert strict.post("/accounts/password_change/", form).status_code == 302


def test_token_revoke_and_create_need_the_csrf_token(strict, alice):
    issued = issue_token(alice, "phone")
    strict.force_login(alice)
    url = f"/accounts/tokens/{issued.token.pk}/revoke/"
    assert strict.post(url).status_code == 403
    assert strict.post("/accounts/profile/", {"device": "script"}).status_code == 403
    assert DeviceToken.objects.count() == 1
    token = csrf_token(strict, "/accounts/profile/")
    assert strict.post(url, {"csrfmiddlewaretoken": token}).status_code == 302
    assert not DeviceToken.objects.exists()


def test_password_reset_needs_the_csrf_token(strict, alice):
    form = {"email": alice.email}
    assert strict.post("/accounts/password_reset/", form).status_code == 403
    form["csrfmiddlewaretoken"] = csrf_token(strict, "/accounts/password_reset/")
    assert strict.post("/accounts/password_reset/", form).status_code == 302
