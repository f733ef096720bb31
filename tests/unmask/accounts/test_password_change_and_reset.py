import re

import pytest
from django.core import mail

from tests.unmask.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another fine passphrase 77"


def can_log_in(client, password: str) -> bool:
    client.logout()
    return client.login(username="alice", password=password)


def test_password_change_needs_the_old_password(client, alice):
    client.force_login(alice)
    assert client.get("/accounts/password_change/").status_code == 200
    wrong = client.post(
        "/accounts/password_change/",
        {"old_password": "guess", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert wrong.status_code == 200
    assert "old password was entered incorrectly" in wrong.content.decode()
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/accounts/password_change/done/"
    assert can_log_in(client, NEW_PASSWORD)
    assert not can_log_in(client, PASSWORD)


def test_password_reset_by_e_mail_link(client, alice):
    assert client.get("/accounts/password_reset/").status_code == 200
    response = client.post("/accounts/password_reset/", {"email": alice.email})
    assert response["Location"] == "/accounts/password_reset/done/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [alice.email]
    assert "Unmask" in message.subject
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message.body).group(1)

    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    set_password_url = form_page.redirect_chain[-1][0]
    done = client.post(
        set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done["Location"] == "/accounts/reset/done/"
    assert can_log_in(client, NEW_PASSWORD)

    reused = client.get(link, follow=True)
    assert "invalid" in reused.content.decode().lower()


def test_password_reset_for_an_unknown_address_sends_nothing_and_reveals_nothing(client, alice):
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert response["Location"] == "/accounts/password_reset/done/"
    assert mail.outbox == []
