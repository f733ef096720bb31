"""Signing in and out through the options page with the platform's per-device tokens."""

import pytest
import requests
from playwright.sync_api import expect

from tests.live import PASSWORD

pytestmark = pytest.mark.browser


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


def tokens_of(body: object) -> list[dict]:
    return body["results"] if isinstance(body, dict) else body


def test_sign_in_through_options_page_and_sign_out_revokes_the_token(browser, live_site):
    page = browser.context.new_page()
    page.goto(browser.page_url("options/options.html"))
    expect(page.locator("#server")).to_have_value("http://127.0.0.1:8000")

    page.fill("#server", live_site.url + "/")
    page.fill("#username", "alice")
    page.fill("#password", "not-the-password")
    page.click("#sign-in")
    expect(page.locator("#message.error")).to_contain_text("username or password")
    assert browser.stored("auth") is None

    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    expect(page.locator("#who")).to_have_text("alice")
    expect(page.locator("#where")).to_have_text(live_site.url)
    auth = browser.stored("auth")
    assert auth["server"] == live_site.url
    token = auth["token"]
    response = requests.get(
        f"{live_site.url}/api/v1/auth/tokens/", headers=bearer(token), timeout=10
    )
    assert response.status_code == 200
    current = [t for t in tokens_of(response.json()) if t["current"]]
    assert len(current) == 1
    assert current[0]["device"] == "Unmask extension (Chromium)"
    assert token not in page.content(), "the options page must never show the token"

    page.click("#sign-out")
    expect(page.locator("#message")).to_contain_text("token was revoked")
    expect(page.locator("#sign-in-form")).to_be_visible()
    assert browser.stored("auth") is None
    response = requests.get(f"{live_site.url}/api/v1/analyses/", headers=bearer(token), timeout=10)
    assert response.status_code == 401, "the server must refuse a token the extension revoked"
