"""Websocket authentication through the whole ASGI app: `?token=` (any origin, for the extension)
or the session cookie (our own origin only)."""

import asyncio
import json

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from unmask.accounts.services import issue_token, revoke_token
from unmask.analyses.consumers import CLOSE_ANONYMOUS, CLOSE_NOT_FOUND
from unmask.analyses.models import Analysis, Status
from unmask.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

EXTENSION_ORIGIN = b"chrome-extension://abcdefghijklmnopabcdefghijklmnop"
SITE_ORIGIN = b"http://localhost"


REFUSED = "refused at the handshake"


def connect(path: str, headers: list[tuple[bytes, bytes]]) -> dict | int | str:
    """The first message of an open connection, its close code, or REFUSED (never accepted)."""

    async def run() -> dict | int | str:
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        try:
            if not connected:
                return REFUSED
            output = await communicator.receive_output(timeout=5)
            if output["type"] == "websocket.close":
                return output["code"]
            return json.loads(output["text"])
        finally:
            await communicator.disconnect()

    return asyncio.run(run())


def session_cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


@pytest.fixture
def alices_analysis(alice):
    return Analysis.objects.create(owner=alice, source_name="clip.mp4", status=Status.QUEUED)


def test_a_token_from_the_extension_opens_my_analysis(alice, alices_analysis):
    key = issue_token(alice, "extension").key
    first = connect(
        f"/ws/analyses/{alices_analysis.id}/?token={key}", [(b"origin", EXTENSION_ORIGIN)]
    )
    assert first["type"] == "analysis.update"
    assert first["id"] == str(alices_analysis.id)
    assert first["status"] == "queued"


def test_a_token_works_without_any_origin(alice, alices_analysis):
    key = issue_token(alice, "script").key
    first = connect(f"/ws/analyses/{alices_analysis.id}/?token={key}", [])
    assert first["id"] == str(alices_analysis.id)


def test_bobs_token_cannot_open_alices_analysis(bob, alices_analysis):
    key = issue_token(bob, "extension").key
    path = f"/ws/analyses/{alices_analysis.id}/?token={key}"
    assert connect(path, [(b"origin", EXTENSION_ORIGIN)]) == CLOSE_NOT_FOUND


def test_a_revoked_token_is_refused(alice, alices_analysis):
    issued = issue_token(alice, "extension")
    revoke_token(issued.token)
    path = f"/ws/analyses/{alices_analysis.id}/?token={issued.key}"
    assert connect(path, [(b"origin", EXTENSION_ORIGIN)]) == CLOSE_ANONYMOUS


def test_anonymous_and_garbage_tokens_are_refused(alices_analysis):
    base = f"/ws/analyses/{alices_analysis.id}/"
    assert connect(base, [(b"origin", SITE_ORIGIN)]) == CLOSE_ANONYMOUS
    # An empty token is no token: the connection is judged as a cookie one, by its origin.
    assert connect(f"{base}?token=", [(b"origin", EXTENSION_ORIGIN)]) == REFUSED
    assert connect(f"{base}?token=deadbeef", [(b"origin", EXTENSION_ORIGIN)]) == CLOSE_ANONYMOUS


def test_the_session_cookie_works_from_our_own_pages(alice, alices_analysis):
    path = f"/ws/analyses/{alices_analysis.id}/"
    first = connect(path, [(b"origin", SITE_ORIGIN), session_cookie(alice)])
    assert first["id"] == str(alices_analysis.id)


def test_the_session_cookie_is_refused_from_a_foreign_origin(alice, alices_analysis):
    """Cross-site websocket hijacking: another site's page riding the user's cookie."""
    path = f"/ws/analyses/{alices_analysis.id}/"
    cookie = session_cookie(alice)
    assert connect(path, [(b"origin", b"https://evil.example"), cookie]) == REFUSED
    assert connect(path, [(b"origin", EXTENSION_ORIGIN), cookie]) == REFUSED
    assert connect(path, [cookie]) == REFUSED


def test_a_bad_token_never_falls_back_to_the_cookie(alice, alices_analysis):
    path = f"/ws/analyses/{alices_analysis.id}/?token=not-a-token"
    headers = [(b"origin", b"https://evil.example"), session_cookie(alice)]
    assert connect(path, headers) == CLOSE_ANONYMOUS
