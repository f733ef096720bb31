"""The only writer of a job's progress: one UPDATE of the row, then one event to its watchers."""

import logging
from collections.abc import Mapping
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from unmask.analyses.models import FINISHED, Analysis, Status

logger = logging.getLogger(__name__)


def group_name(analysis_id: Any) -> str:
    return f"analysis.{analysis_id}"


def report(
    analysis_id: Any,
    *,
    stage: Status | str,
    progress: float,
    message: str = "",
    changes: Mapping[str, Any] | None = None,
    expect: Mapping[str, Any] | None = None,
) -> bool:
    """Persist stage/progress (plus any finishing `changes`) and notify websocket watchers.

    A finished analysis is never changed again, so a late report from a worker that was
    presumed dead cannot overwrite the outcome. `expect` adds conditions (lookups) the row
    must still meet, for compare-and-set transitions such as claiming a queued job.
    Returns whether the row changed.
    """
    now = timezone.now()
    fields: dict[str, Any] = {
        "status": Status(stage),
        "progress": max(0, min(100, round(progress))),
        "message": message[:200],
        "heartbeat_at": now,
        "updated_at": now,
        **(changes or {}),
    }
    if fields["status"] in FINISHED:
        fields.setdefault("finished_at", now)
    rows = Analysis.objects.filter(pk=analysis_id, **(expect or {})).exclude(status__in=FINISHED)
    if not rows.update(**fields):
        return False
    analysis = Analysis.objects.select_related("reused_from").get(pk=analysis_id)
    notify(analysis)
    return True


def notify(analysis: Analysis) -> None:
    """Events are only notifications; a watcher that misses one still reads the row on connect."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            group_name(analysis.id), {"type": "analysis.progress", "status": analysis.to_status()}
        )
    except Exception:  # a broken channel layer must not fail the job itself
        logger.exception("could not notify watchers of analysis %s", analysis.id)
