"""AnalysisConsumer: snapshot on connect, then each report() as it happens; closes when finished."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from unmask.analyses import progress
from unmask.analyses.models import Analysis, Status
from unmask.analyses.progress import mark_done, mark_failed
from unmask.routing import websocket_urlpatterns


def communicator(analysis_id, user) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/analyses/{analysis_id}/")
    socket.scope["user"] = user
    return socket


RESULT = {
    "verdict": "real",
    "fake_probability": 0.12,
    "tracks": [],
    "per_frame": [],
    "model": {
        "name": "cnn_lstm",
        "version": "t-1",
        "threshold": 0.5,
        "uncertain_band": [0.35, 0.65],
    },
}


@pytest.mark.django_db(transaction=True)
def test_owner_gets_snapshot_then_live_updates_then_close(alice):
    analysis = Analysis.objects.create(owner=alice, source_name="a.mp4")

    async def scenario():
        socket = communicator(analysis.id, alice)
        connected, _ = await socket.connect()
        assert connected
        snapshot = await socket.receive_json_from(timeout=5)
        assert snapshot["type"] == "analysis.update" and snapshot["status"] == "queued"
        await database_sync_to_async(progress.report)(
            analysis.id, stage=Status.DETECTING_FACES, progress=40
        )
        update = await socket.receive_json_from(timeout=5)
        assert (update["status"], update["progress"]) == ("detecting_faces", 40)
        await database_sync_to_async(mark_done)(analysis, RESULT)
        final = await socket.receive_json_from(timeout=5)
        assert final["status"] == "done" and final["verdict"] == "real"
        closed = await socket.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 1000}

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("who", "code"), [("bob", 4404), ("anonymous", 4403)])
def test_others_are_refused_with_a_close_code(alice, bob, who, code):
    analysis = Analysis.objects.create(owner=alice, source_name="a.mp4")
    user = bob if who == "bob" else AnonymousUser()

    async def scenario():
        socket = communicator(analysis.id, user)
        await socket.connect()
        assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": code}

    async_to_sync(scenario)()


@pytest.mark.django_db
def test_a_finished_analysis_is_never_changed_again(alice):
    analysis = Analysis.objects.create(owner=alice, source_name="a.mp4")
    assert mark_failed(analysis, "The video could not be decoded.")
    assert not progress.report(analysis.id, stage=Status.SCORING, progress=80)
    analysis.refresh_from_db()
    assert analysis.status == Status.FAILED and analysis.error == "The video could not be decoded."


def test_status_values_are_the_engine_stages():
    from detection.stages import Stage

    assert [s.value for s in Status] == [s.value for s in Stage]
