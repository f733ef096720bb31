"""The only writer of a job's progress: one UPDATE of the row, then one event to its watchers."""

import logging
from collections.abc import Mapping
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from unmask.analyses.models import FINISHED, Analysis, Status
from unmask.analyses.status import status_of

logger = logging.getLogger(__name__)

# Share of the whole job (percent) each running stage covers, for one overall progress bar.
STAGE_SPAN: dict[str, tuple[int, int]] = {
    Status.FETCHING: (0, 10),
    Status.DECODING: (10, 25),
    Status.DETECTING_FACES: (25, 70),
    Status.SCORING: (70, 99),
}


def percent(stage: str, fraction: float) -> float:
    """Where `fraction` (0..1) of `stage` lies on the whole job's bar (0..100)."""
    if stage == Status.DONE:
        return 100.0
    low, high = STAGE_SPAN.get(stage, (0, 0))
    return low + (high - low) * min(1.0, max(0.0, float(fraction)))


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
    notify(Analysis.objects.with_status().get(pk=analysis_id))
    return True


def mark_done(
    analysis: Analysis, result: Mapping[str, Any], *, reused_from: Analysis | None = None
) -> bool:
    """Record a finished result (the engine's, or an identical earlier one's for a copy)."""
    probability = result.get("fake_probability")
    changes: dict[str, Any] = {
        "result": result,
        "verdict": result.get("verdict") or "",
        "fake_probability": probability,
        "model_version": str((result.get("model") or {}).get("version") or ""),
        "error": "",
    }
    if reused_from is not None:
        changes["reused_from"] = reused_from
    threshold = settings.ANALYSIS_FLAG_THRESHOLD
    if reused_from is None and probability is not None and probability >= threshold:
        # Copies are not flagged again: their original is already in the review queue.
        changes["is_flagged"] = True
        changes["flag_reason"] = (
            f"The model gave {probability:.0%}, at or above the review threshold "
            f"of {threshold:.0%}."
        )
    return report(
        analysis.id, stage=Status.DONE, progress=100, message="Finished.", changes=changes
    )


def mark_failed(analysis: Analysis, reason: str) -> bool:
    return report(
        analysis.id, stage=Status.FAILED, progress=analysis.progress, changes={"error": reason}
    )


def notify(analysis: Analysis) -> None:
    """Events are only notifications; a watcher that misses one still reads the row on connect."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            group_name(analysis.id), {"type": "analysis.progress", "status": status_of(analysis)}
        )
    except Exception:  # a broken channel layer must not fail the job itself
        logger.exception("could not notify watchers of analysis %s", analysis.id)
