"""Websocket /ws/analyses/<id>/: a snapshot from the database on connect, then every change."""

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from unmask.analyses.models import FINISHED, Analysis
from unmask.analyses.progress import group_name
from unmask.analyses.status import status_of

UPDATE = "analysis.update"
CLOSE_ANONYMOUS = 4403
CLOSE_NOT_FOUND = 4404


class AnalysisConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        analysis_id = self.scope["url_route"]["kwargs"]["analysis_id"]
        # Accept first: a close code only reaches the client on an open socket.
        await self.accept()
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_ANONYMOUS)
            return
        self.group = group_name(analysis_id)
        # Join before reading the snapshot, so no change falls between the two.
        await self.channel_layer.group_add(self.group, self.channel_name)
        snapshot = await database_sync_to_async(_snapshot)(user, analysis_id)
        if snapshot is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.last_update = snapshot["updated_at"] or ""
        await self._send_status(snapshot)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Clients only listen; anything they send is ignored."""

    async def analysis_progress(self, event: dict[str, Any]) -> None:
        status = event["status"]
        if (status["updated_at"] or "") < self.last_update:
            return  # older than the snapshot already sent
        self.last_update = status["updated_at"] or ""
        await self._send_status(status)

    async def _send_status(self, status: dict[str, Any]) -> None:
        await self.send_json({"type": UPDATE, **status})
        if status["status"] in FINISHED:
            await self.close(code=1000)


def _snapshot(user: Any, analysis_id: Any) -> dict[str, Any] | None:
    analysis = Analysis.objects.visible_to(user).with_status().filter(pk=analysis_id).first()
    return status_of(analysis) if analysis else None
