"""Bob cannot read, watch, download, export or delete Alice's analysis: always 404 / 4404."""

import json

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.support import real_video


@pytest.fixture(scope="module")
def alices_analysis(live_site) -> str:
    response = live_site.upload(real_video("lp-d18.mp4"))
    assert response.status_code in {200, 201}, response.text
    return response.json()["id"]


def close_code(live_site, path: str, headers: dict) -> int:
    with connect(live_site.ws_base + path, additional_headers=headers, open_timeout=10) as socket:
        with pytest.raises(ConnectionClosed):
            while True:
                json.loads(socket.recv(timeout=10))
        return socket.close_code


def test_bob_gets_404_from_every_http_path(live_site, alices_analysis):
    api = f"{live_site.url}/api/v1/analyses/{alices_analysis}/"
    bob_token = live_site.token_headers("bob")
    assert requests.get(api, headers=bob_token, timeout=10).status_code == 404
    assert requests.delete(api, headers=bob_token, timeout=10).status_code == 404
    assert requests.post(api + "report/", headers=bob_token, timeout=10).status_code == 404
    listing = requests.get(f"{live_site.url}/api/v1/analyses/", headers=bob_token, timeout=10)
    assert alices_analysis not in {a["id"] for a in listing.json()["results"]}

    bob = live_site.browser("bob")
    page = f"{live_site.url}/analyses/{alices_analysis}/"
    for path in ("", "video", "export.json"):
        assert bob.get(page + path, timeout=10).status_code == 404, path
    assert bob.post(page + "delete/", timeout=10).status_code == 404
    assert bob.post(page + "share/", data={"enabled": "1"}, timeout=10).status_code == 404

    # Still there for Alice, untouched.
    alice = requests.get(api, headers=live_site.token_headers("alice"), timeout=10)
    assert alice.status_code == 200
    assert live_site.browser("alice").get(page + "video", timeout=10).status_code == 200


def test_bob_cannot_open_alices_socket(live_site, alices_analysis):
    path = f"/ws/analyses/{alices_analysis}/"
    assert close_code(live_site, f"{path}?token={live_site.token('bob')}", {}) == 4404
    assert close_code(live_site, path, live_site.ws_session_headers("bob")) == 4404


def test_anonymous_sockets_are_refused(live_site, alices_analysis):
    path = f"/ws/analyses/{alices_analysis}/"
    assert close_code(live_site, f"{path}?token=not-a-token", {}) == 4403
    assert close_code(live_site, path, {"Origin": live_site.url}) == 4403


def test_alice_watches_over_her_session_cookie(live_site, alices_analysis):
    path = f"/ws/analyses/{alices_analysis}/"
    with connect(
        live_site.ws_base + path,
        additional_headers=live_site.ws_session_headers("alice"),
        open_timeout=10,
    ) as socket:
        first = json.loads(socket.recv(timeout=10))
    assert first["type"] == "analysis.update" and first["id"] == alices_analysis
