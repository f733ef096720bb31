"""How analyses get run: queueing, the embedded thread runner, the Celery task, and the
recovery of jobs whose worker went silent.

`enqueue(id)` sends Celery task `detection.run_analysis` (ANALYSIS_RUNNER=celery) or wakes the
worker threads inside the server process (ANALYSIS_RUNNER=thread). The thread runner takes
its work from the database (oldest queued row first), so it is bounded by its thread count,
never blocks a request, and picks up rows queued before a restart. Either way one job is run
by `jobs.run_analysis`.
"""

import logging
import threading
import time
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import close_old_connections
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from unmask.analyses import jobs, progress
from unmask.analyses.models import RUNNING, Analysis, Status

logger = logging.getLogger(__name__)

GAVE_UP = (
    "The worker checking this video stopped unexpectedly {attempts} times, so we gave up. "
    "Please try again later."
)


# --- queueing ----------------------------------------------------------------------------------


def enqueue(analysis_id: Any) -> None:
    """Hand a queued analysis to the configured runner; returns at once."""
    if settings.ANALYSIS_RUNNER == "celery":
        run_analysis_task.delay(str(analysis_id))
        return
    runner = start_runner()
    if runner is None:
        logger.info("analysis %s stays queued: the thread runner is switched off", analysis_id)
    else:
        runner.wake()


class ThreadRunner:
    """A few daemon threads that run queued analyses and sweep for stale ones."""

    def __init__(self, workers: int, sweep_every_s: float) -> None:
        self._wake = threading.Event()
        self._sweep_every_s = sweep_every_s
        self._threads = [
            threading.Thread(target=self._work, name=f"unmask-job-{n}", daemon=True)
            for n in range(max(1, workers))
        ]
        self._threads.append(
            threading.Thread(target=self._sweep, name="unmask-job-sweeper", daemon=True)
        )

    def start(self) -> None:
        for thread in self._threads:
            thread.start()
        self.wake()

    def wake(self) -> None:
        self._wake.set()

    def _work(self) -> None:
        while True:
            self._wake.wait(timeout=self._sweep_every_s)
            self._wake.clear()
            try:
                while (analysis_id := _next_queued_id()) is not None:
                    jobs.run_analysis(analysis_id)
            except Exception:
                logger.exception("the job runner hit an error; it keeps going")
            finally:
                close_old_connections()

    def _sweep(self) -> None:
        while True:
            try:
                if recover_stale(requeue=False):
                    self.wake()
            except Exception:
                logger.exception("stale-job recovery failed; retrying later")
            finally:
                close_old_connections()
            time.sleep(self._sweep_every_s)


_runner: ThreadRunner | None = None
_runner_lock = threading.Lock()


def start_runner() -> ThreadRunner | None:
    """Start the embedded runner once per process (None when switched off or on Celery)."""
    global _runner
    if settings.ANALYSIS_RUNNER != "thread" or not settings.ANALYSIS_THREAD_START:
        return None
    with _runner_lock:
        if _runner is None:
            _runner = ThreadRunner(
                workers=settings.ANALYSIS_THREAD_WORKERS,
                sweep_every_s=max(1.0, settings.ANALYSIS_STALE_SECONDS / 4),
            )
            _runner.start()
            logger.info("started the embedded job runner")
        return _runner


def start_runner_on_request(**_: Any) -> None:
    """request_started receiver: the server's first request starts the runner."""
    if _runner is None:
        start_runner()


def _next_queued_id() -> Any:
    return (
        Analysis.objects.filter(status=Status.QUEUED)
        .order_by("created_at")
        .values_list("id", flat=True)
        .first()
    )


# --- stale jobs --------------------------------------------------------------------------------


def recover_stale(*, requeue: bool = True) -> dict[str, int]:
    """Re-queue running jobs whose worker went silent; fail them after ANALYSIS_MAX_ATTEMPTS.

    A job is stale when its heartbeat is older than ANALYSIS_STALE_SECONDS. With `requeue`
    the job is also handed to the runner (the thread runner instead finds it by itself).
    """
    cutoff = timezone.now() - timezone.timedelta(seconds=settings.ANALYSIS_STALE_SECONDS)
    stale = Analysis.objects.filter(status__in=RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    counts = {"requeued": 0, "failed": 0}
    for analysis in stale.only("id", "attempts", "heartbeat_at", "progress"):
        expect = {"status__in": RUNNING, "heartbeat_at": analysis.heartbeat_at}
        if analysis.attempts < settings.ANALYSIS_MAX_ATTEMPTS:
            restarted = progress.report(
                analysis.id,
                stage=Status.QUEUED,
                progress=0,
                message="Restarting after an interruption.",
                expect=expect,
            )
            if restarted:
                counts["requeued"] += 1
                logger.warning("re-queued stale analysis %s", analysis.id)
                if requeue:
                    enqueue(analysis.id)
        elif progress.report(
            analysis.id,
            stage=Status.FAILED,
            progress=analysis.progress,
            changes={"error": GAVE_UP.format(attempts=analysis.attempts)},
            expect=expect,
        ):
            counts["failed"] += 1
            logger.warning(
                "failed stale analysis %s after %s attempts", analysis.id, analysis.attempts
            )
    return counts


def resend_queued() -> int:
    """Celery only: send again the rows still queued ANALYSIS_RESEND_QUEUED_SECONDS after their
    last send, e.g. because the broker was down when they were submitted.

    The send time is kept in heartbeat_at (unused while a row is queued) and moved forward
    with a compare-and-set before sending, so concurrent sweepers send a row once per period.
    A duplicate message is harmless: the task claims by id and skips a row no longer queued.
    """
    if settings.ANALYSIS_RUNNER != "celery":
        return 0  # the thread runner reads queued rows from the database by itself
    now = timezone.now()
    cutoff = now - timezone.timedelta(seconds=settings.ANALYSIS_RESEND_QUEUED_SECONDS)
    waiting = (
        Analysis.objects.filter(status=Status.QUEUED)
        .alias(sent_at=Coalesce("heartbeat_at", "created_at"))
        .filter(sent_at__lt=cutoff)
        .values_list("id", "heartbeat_at")
    )
    sent = 0
    for analysis_id, sent_at in waiting:
        unchanged = {"heartbeat_at": sent_at} if sent_at else {"heartbeat_at__isnull": True}
        mine = Analysis.objects.filter(pk=analysis_id, status=Status.QUEUED, **unchanged)
        if mine.update(heartbeat_at=now):
            enqueue(analysis_id)
            sent += 1
            logger.warning("sent queued analysis %s again", analysis_id)
    return sent


# --- Celery ------------------------------------------------------------------------------------


@shared_task(
    name="detection.run_analysis",
    acks_late=True,  # a worker that dies mid-job leaves the message for another worker
    reject_on_worker_lost=True,
    ignore_result=True,
)
def run_analysis_task(analysis_id: str) -> None:
    """Routed to the `detection` queue; run twice, it runs the analysis once (claim by id).

    The name stays `detection.run_analysis` (the module it lived in before): workers and
    messages already queued under that name keep working through an upgrade."""
    jobs.run_analysis(analysis_id)


@worker_ready.connect
def start_stale_sweeper(**_: Any) -> None:
    """Each worker checks for stale and unsent jobs at start and then periodically."""
    threading.Thread(target=_sweep_forever, name="unmask-stale-sweeper", daemon=True).start()


def _sweep_forever() -> None:
    while True:
        try:
            recover_stale(requeue=True)
            resend_queued()  # rows whose first send was lost (broker down)
        except Exception:
            logger.exception("stale-job recovery failed; retrying later")
        finally:
            close_old_connections()
        time.sleep(max(1.0, settings.ANALYSIS_STALE_SECONDS / 4))
