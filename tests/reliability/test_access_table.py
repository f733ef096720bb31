"""Every route that takes an object id, listed from the URLconf (so a new route cannot be
forgotten), refuses Bob on Alice's objects with every method; every websocket route likewise;
stored media is never served by its storage path."""

import asyncio
import uuid

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from unmask.accounts.services import issue_token
from unmask.analyses.models import Analysis, Status
from unmask.analyses.progress import mark_done
from unmask.asgi import application
from unmask.review.models import Review
from unmask.routing import websocket_urlpatterns

ID_PARAMS = {"pk", "analysis_id", "object_id"}
REFUSED = {401, 403, 404, 405}


def routes(patterns=None, namespace: str = "") -> list[tuple[str, set[str]]]:
    """(namespaced name, parameter names) of every named route that takes an object id."""
    found = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += routes(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            params = set(entry.pattern.regex.groupindex)
            if params & ID_PARAMS:
                found.append((namespace + entry.name, params))
    return found


ROUTES = sorted(set((name, frozenset(params)) for name, params in routes()))


@pytest.fixture
def alices(alice, staff, tmp_path, settings) -> dict[str, object]:
    settings.MEDIA_ROOT = tmp_path / "media"
    analysis = Analysis.objects.create(owner=alice, source_name="alice.mp4", status=Status.SCORING)
    analysis.source.save("alice.mp4", ContentFile(b"\0" * 100), save=True)
    assert mark_done(analysis, {"verdict": "fake", "fake_probability": 0.9, "model": {}})
    analysis.refresh_from_db()
    review = Review.objects.create(analysis=analysis, reviewer=staff, decision="confirmed_fake")
    token = issue_token(alice, "alice's phone").token
    return {"analysis": analysis, "review": review, "token": token}


def url_for(name: str, params: frozenset[str], objects: dict[str, object]) -> str:
    if "review" in name and "api" in name:
        pk = objects["review"].pk
    elif "token" in name:
        pk = objects["token"].pk
    elif name.startswith("admin:"):
        pk = objects["analysis"].pk if "analysis" in name else objects["review"].pk
    else:
        pk = objects["analysis"].pk
    kwargs = {p: str(pk) for p in params & ID_PARAMS}
    if "format" in params:
        kwargs["format"] = "json"
    if "content_type_id" in params:
        kwargs["content_type_id"] = str(ContentType.objects.get_for_model(Analysis).pk)
        kwargs["object_id"] = str(objects["analysis"].pk)
    return reverse(name, kwargs=kwargs)


def test_the_table_covers_the_routes_that_matter():
    names = {name for name, _ in ROUTES}
    for must in (
        "analyses:detail",
        "analyses:video",
        "analyses:export",
        "analyses:delete",
        "review:review",
        "review:video",
        "api:analysis-detail",
        "api:analysis-report",
    ):
        assert must in names  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "params"), ROUTES, ids=[n for n, _ in ROUTES])
def test_bob_is_refused_on_every_route_with_every_method(name, params, alices, bob, client):
    url = url_for(name, params, alices)
    client.force_login(bob)
    bobs_token = issue_token(bob, "bob's laptop").key
    for method in ("get", "post", "put", "patch", "delete"):
        for extra in ({}, {"HTTP_AUTHORIZATION": f"Token {bobs_token}"}):
            response = getattr(client, method)(url, **extra)
            code = response.status_code
            refused = code in REFUSED or (code == 302 and "login" in response["Location"])
            assert refused, f"{method.upper()} {url} gave Bob {code}"
    analysis = Analysis.objects.get(pk=alices["analysis"].pk)
    assert analysis.verdict == "fake" and not analysis.is_public and analysis.source
    assert Review.objects.filter(pk=alices["review"].pk).exists()
    assert alices["token"].__class__.objects.filter(pk=alices["token"].pk).exists()


@pytest.mark.django_db
def test_stored_media_is_not_served_by_its_storage_path(alices, bob, alice, client):
    analysis = alices["analysis"]
    for user in (bob, alice):  # not even its owner: media goes through the checked view
        client.force_login(user)
        assert client.get(f"/media/{analysis.source.name}").status_code == 404


def first_message(path: str, headers: list[tuple[bytes, bytes]]) -> dict:
    async def run() -> dict:
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        try:
            if not connected:
                return {"type": "websocket.close", "code": "refused at the handshake"}
            return await communicator.receive_output(timeout=5)
        finally:
            await communicator.disconnect()

    return asyncio.run(run())


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", websocket_urlpatterns, ids=lambda r: str(r.pattern))
def test_every_websocket_route_refuses_bob(route, alice, bob):
    analysis = Analysis.objects.create(owner=alice, source_name="a.mp4")
    path = "/" + str(route.pattern).replace("<uuid:analysis_id>", str(analysis.id))
    web = Client()
    web.force_login(bob)
    cookie = (b"cookie", f"sessionid={web.cookies['sessionid'].value}".encode())
    tries = [
        (f"?token={issue_token(bob, 'bob').key}", []),
        (f"?token={uuid.uuid4()}", []),
        ("", [cookie, (b"origin", b"http://localhost")]),
        ("", [(b"origin", b"http://localhost")]),
    ]
    for query, headers in tries:
        message = first_message(path + query, headers)
        assert message["type"] == "websocket.close", (query, headers, message)
        assert message["code"] in {4403, 4404, "refused at the handshake"}
