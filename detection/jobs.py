"""Runs analyses: one `run_analysis` for every runner, plus the embedded thread runner and
stale-job recovery.

`enqueue(id)` sends Celery task `detection.run_analysis` (ANALYSIS_RUNNER=celery) or wakes the
worker threads inside the server process (ANALYSIS_RUNNER=thread). The thread runner takes
its work from the database (oldest queued row first), so it is bounded by its thread count,
never blocks a request, and picks up rows queued before a restart. The engine is imported
inside the functions that use it: web processes never import torch.
"""

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import OperationalError, close_old_connections, connection
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from unmask.analyses import progress
from unmask.analyses.models import RUNNING, Analysis, Status, source_upload_to
from unmask.analyses.preview import make_preview
from unmask.analyses.services import hash_file

logger = logging.getLogger(__name__)

GENERIC_FAILURE = (
    "Something went wrong on our side while checking this video. Please try again later."
)
GAVE_UP = (
    "The worker checking this video stopped unexpectedly {attempts} times, so we gave up. "
    "Please try again later."
)
# Share of the whole job (percent) each stage covers, for one overall progress bar.
STAGE_SPAN: dict[Status, tuple[int, int]] = {
    Status.FETCHING: (0, 10),
    Status.DECODING: (10, 25),
    Status.DETECTING_FACES: (25, 70),
    Status.SCORING: (70, 99),
}
STORAGE_FAILURE = (
    "We could not store the downloaded video on our side, so it was not checked. "
    "Please try again later."
)
PROGRESS_INTERVAL_S = 0.5  # at most two progress writes per second per job
# Waits between tries of a job's database write that met a lock or a lost connection.
DB_RETRY_DELAYS_S = (0.25, 0.5, 1.0, 2.0)


# --- queueing ----------------------------------------------------------------------------------


def enqueue(analysis_id: Any) -> None:
    """Hand a queued analysis to the configured runner; returns at once."""
    if settings.ANALYSIS_RUNNER == "celery":
        from detection.tasks import run_analysis_task

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
                    run_analysis(analysis_id)
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


# --- database writes of a running job --------------------------------------------------------


def db_retry[T](write: Callable[[], T], what: str) -> T:
    """Run a job's database write, trying again after a short, bounded wait when the database
    is briefly unavailable (locked, restarting, connection dropped). Inside a transaction a
    retry cannot help, so the error is raised at once."""
    for delay in (*DB_RETRY_DELAYS_S, None):
        try:
            return write()
        except OperationalError as exc:
            if delay is None or connection.in_atomic_block:
                raise
            logger.warning("database unavailable while %s (%s); retrying in %g s", what, exc, delay)
            connection.close()  # reconnect on the next try if the connection was lost
            time.sleep(delay)
    raise AssertionError("unreachable")


# --- running one analysis ----------------------------------------------------------------------


def run_analysis(analysis_id: Any) -> None:
    """Claim, run and finish one analysis. Idempotent: only a queued row is ever claimed."""
    analysis = db_retry(lambda: _claim(analysis_id), f"claiming analysis {analysis_id}")
    if analysis is None:
        logger.info("analysis %s is not queued (finished, running or gone): skipped", analysis_id)
        return
    with _Heartbeat(analysis.id), tempfile.TemporaryDirectory(prefix="unmask-job-") as tmp:
        _execute(analysis, Path(tmp))


def _claim(analysis_id: Any) -> Analysis | None:
    analysis = Analysis.objects.filter(pk=analysis_id, status=Status.QUEUED).first()
    if analysis is None:
        return None
    first = Status.FETCHING if analysis.source_url and not analysis.source else Status.DECODING
    claimed = progress.report(
        analysis.id,
        stage=first,
        progress=STAGE_SPAN[first][0],
        message="Starting.",
        changes={"attempts": F("attempts") + 1, "started_at": timezone.now(), "error": ""},
        expect={"status": Status.QUEUED},
    )
    if not claimed:
        return None
    analysis.refresh_from_db()
    return analysis


def _execute(analysis: Analysis, workdir: Path) -> None:
    from detection.errors import DetectionError

    try:
        path = _local_source(analysis, workdir)
        original = (
            Analysis.objects.exclude(pk=analysis.pk).reusable(content_hash=analysis.content_hash)
            if analysis.content_hash
            else None
        )
        if original is not None:
            _finish(
                analysis, lambda: analysis.mark_done(original.result or {}, reused_from=original)
            )
            return
        result = _detect(analysis, path)
        make_preview(analysis, path)
        _finish(analysis, lambda: analysis.mark_done(result))
    except DetectionError as exc:
        logger.info("analysis %s failed: %s", analysis.id, exc)
        reason = str(exc)
        _finish(analysis, lambda: analysis.mark_failed(reason))
    except Exception:
        logger.exception("analysis %s crashed", analysis.id)
        _finish(analysis, lambda: analysis.mark_failed(GENERIC_FAILURE))


def _finish(analysis: Analysis, write: Callable[[], bool]) -> None:
    db_retry(write, f"finishing analysis {analysis.id}")


def _local_source(analysis: Analysis, workdir: Path) -> Path:
    """A local path to the video: the stored upload, a copy of it, or the fetched URL."""
    from detection.errors import UnreadableVideo

    if analysis.source:
        storage = analysis.source.storage
        if not storage.exists(analysis.source.name):
            raise UnreadableVideo("The uploaded file is no longer stored; please upload it again.")
        try:
            return Path(storage.path(analysis.source.name))
        except NotImplementedError:  # remote storage (S3): work on a local copy
            local = workdir / Path(analysis.source.name).name
            with analysis.source.open("rb") as src, local.open("wb") as dst:
                shutil.copyfileobj(src, dst, length=1024 * 1024)
            return local
    if analysis.source_url:
        return _fetch(analysis, workdir)
    raise UnreadableVideo("This check has neither a file nor a link to look at.")


def _fetch(analysis: Analysis, workdir: Path) -> Path:
    from detection.fetch import fetch_video

    progress.report(analysis.id, stage=Status.FETCHING, progress=2, message="Downloading.")
    fetched = fetch_video(
        analysis.source_url,
        workdir,
        max_bytes=settings.FETCH_MAX_BYTES,
        max_duration_s=settings.FETCH_MAX_DURATION_S,
        timeout_s=settings.FETCH_TIMEOUT_S,
        allow_hosts=settings.FETCH_ALLOW_HOSTS,
    )
    from detection.errors import DetectionError

    with fetched.path.open("rb") as handle:
        media = File(handle)
        content_hash = hash_file(media)
        try:
            name = analysis.source.storage.save(
                source_upload_to(analysis, fetched.path.name), media
            )
        except Exception as exc:  # disk full, read-only, S3 refusing: any storage backend
            logger.exception("could not store the video of analysis %s", analysis.id)
            raise DetectionError(STORAGE_FAILURE) from exc
    fields = {
        "source": name,
        "source_name": (fetched.title or fetched.path.name)[:255],
        "source_size": fetched.path.stat().st_size,
        "content_hash": content_hash,
    }
    if not Analysis.objects.filter(pk=analysis.pk).update(**fields):
        analysis.source.storage.delete(name)  # deleted while downloading: keep nothing
    for key, value in fields.items():
        setattr(analysis, key, value)
    return fetched.path


def _detect(analysis: Analysis, path: Path) -> dict[str, Any]:
    from detection.pipeline import DetectOptions, detect

    options = DetectOptions(
        frames=settings.DETECTION_FRAMES or None,
        device=settings.DETECTION_DEVICE,
        model_path=Path(settings.DETECTION_MODEL) if settings.DETECTION_MODEL else None,
        allow_untrained=settings.DETECTION_ALLOW_UNTRAINED,
        max_duration_s=settings.DETECTION_MAX_DURATION_S,
        max_pixels=settings.DETECTION_MAX_PIXELS,
    )
    result = detect(path, options=options, on_progress=ProgressRelay(analysis.id))
    return result.to_dict()


class ProgressRelay:
    """Binds the engine's on_progress(stage, fraction) to progress.report, throttled.

    A new stage is always written; within a stage at most one write per PROGRESS_INTERVAL_S.
    """

    def __init__(self, analysis_id: Any) -> None:
        self.analysis_id = analysis_id
        self._stage: Status | None = None
        self._written_at = 0.0

    def __call__(self, stage: Any, fraction: float) -> None:
        status = Status(str(stage))
        if status not in STAGE_SPAN:  # done/failed are written by mark_done/mark_failed
            return
        now = time.monotonic()
        if status == self._stage and now - self._written_at < PROGRESS_INTERVAL_S:
            return
        low, high = STAGE_SPAN[status]
        share = min(1.0, max(0.0, float(fraction)))
        self._stage, self._written_at = status, now
        db_retry(
            lambda: progress.report(
                self.analysis_id, stage=status, progress=low + (high - low) * share
            ),
            f"reporting progress of analysis {self.analysis_id}",
        )


class _Heartbeat:
    """Touches heartbeat_at while a job runs, so a silent but live engine is not called stale."""

    def __init__(self, analysis_id: Any) -> None:
        self.analysis_id = analysis_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="unmask-heartbeat", daemon=True)

    def __enter__(self) -> "_Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        interval = max(0.5, settings.ANALYSIS_STALE_SECONDS / 4)
        try:
            while not self._stop.wait(interval):
                db_retry(self._touch, f"heartbeat of analysis {self.analysis_id}")
        except Exception:
            logger.exception("heartbeat of analysis %s stopped", self.analysis_id)
        finally:
            connection.close()

    def _touch(self) -> int:
        return Analysis.objects.filter(pk=self.analysis_id, status__in=RUNNING).update(
            heartbeat_at=timezone.now()
        )
