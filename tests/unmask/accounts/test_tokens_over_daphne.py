"""The extension's path over real sockets against daphne: sign in for a token, watch an
analysis over a websocket from the extension's origin, revoke the token, be refused."""

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.live import PASSWORD

EXTENSION_ORIGIN = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"


def first_message_or_close(url: str, **kwargs) -> str | int:
    with connect(url, open_timeout=10, **kwargs) as socket:
        try:
            return socket.recv(timeout=10)
        except ConnectionClosed as closed:
            return closed.rcvd.code


def test_extension_token_life_cycle(live_site, sample_video):
    api = f"{live_site.url}/api/v1"
    signed_in = requests.post(
        f"{api}/auth/token/",
        json={"username": "bob", "password": PASSWORD, "device": "Chrome extension"},
        timeout=10,
    )
    assert signed_in.status_code == 200
    key = signed_in.json()["token"]
    headers = {"Authorization": f"Token {key}"}

    with sample_video.open("rb") as video:
        created = requests.post(
            f"{api}/analyses/", files={"file": ("clip.mp4", video)}, headers=headers, timeout=30
        )
    assert created.status_code in (200, 201), created.text
    ws_url = f"{created.json()['ws_url']}?token={key}"

    message = first_message_or_close(ws_url, origin=EXTENSION_ORIGIN)
    assert created.json()["id"] in message

    alices_socket = first_message_or_close(
        ws_url.replace(key, live_site.token("alice")), origin=EXTENSION_ORIGIN
    )
    assert alices_socket == 4404

    devices = requests.get(f"{api}/auth/tokens/", headers=headers, timeout=10).json()["results"]
    assert "Chrome extension" in [row["device"] for row in devices]
    assert requests.delete(f"{api}/auth/token/", headers=headers, timeout=10).status_code == 204
    refused = requests.get(f"{api}/auth/tokens/", headers=headers, timeout=10)
    assert refused.status_code == 401
    assert first_message_or_close(ws_url, origin=EXTENSION_ORIGIN) == 4403


def test_cookie_sockets_from_a_foreign_origin_are_refused(live_site):
    """A page on another site cannot ride the user's session cookie into a websocket."""
    cookie = live_site.ws_session_headers("alice")["Cookie"]
    with pytest.raises(InvalidStatus) as refused:
        connect(
            f"{live_site.ws_base}/ws/analyses/00000000-0000-0000-0000-000000000000/",
            origin="https://evil.example",
            additional_headers={"Cookie": cookie},
            open_timeout=10,
        )
    assert refused.value.response.status_code == 403
