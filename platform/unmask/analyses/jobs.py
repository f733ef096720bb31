"""Running one analysis: claim it, fetch or open its video, run the engine, record the outcome.

Every runner (the Celery task, the embedded threads: see `tasks`) calls `run_analysis`.
The engine module is imported where a job runs it, not at the top: web processes that only
queue jobs never load torch.
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
from django.db import OperationalError, connection
from django.db.models import F
from django.utils import timezone

from detection.errors import DetectionError, UnreadableVideo
from detection.fetch import FetchedVideo, fetch_video
from unmask.analyses import progress
from unmask.analyses.media import hash_file
from unmask.analyses.models import RUNNING, Analysis, Status, source_upload_to
from unmask.analyses.preview import make_preview

logger = logging.getLogger(__name__)

GENERIC_FAILURE = (
    "Something went wrong on our side while checking this video. Please try again later."
)
STORAGE_FAILURE = (
    "We could not store the downloaded video on our side, so it was not checked. "
    "Please try again later."
)
PROGRESS_INTERVAL_S = 0.5  # at most two progress writes per second per job
# Waits between tries of a job's database write that met a lock or a lost connection.
DB_RETRY_DELAYS_S = (0.25, 0.5, 1.0, 2.0)


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
        progress=progress.percent(first, 0.0),
        message="Starting.",
        changes={"attempts": F("attempts") + 1, "started_at": timezone.now(), "error": ""},
        expect={"status": Status.QUEUED},
    )
    if not claimed:
        return None
    analysis.refresh_from_db()
    return analysis


def _execute(analysis: Analysis, workdir: Path) -> None:
    try:
        path = _local_source(analysis, workdir)
        original = (
            Analysis.objects.exclude(pk=analysis.pk).reusable(content_hash=analysis.content_hash)
            if analysis.content_hash
            else None
        )
        if original is not None:
            _finish(
                analysis,
                lambda: progress.mark_done(analysis, original.result or {}, reused_from=original),
            )
            return
        result = _detect(analysis, path)
        make_preview(analysis, path)
        _finish(analysis, lambda: progress.mark_done(analysis, result))
    except DetectionError as exc:
        logger.info("analysis %s failed: %s", analysis.id, exc)
        reason = str(exc)
        _finish(analysis, lambda: progress.mark_failed(analysis, reason))
    except Exception:
        logger.exception("analysis %s crashed", analysis.id)
        _finish(analysis, lambda: progress.mark_failed(analysis, GENERIC_FAILURE))


def _finish(analysis: Analysis, write: Callable[[], bool]) -> None:
    db_retry(write, f"finishing analysis {analysis.id}")


def _local_source(analysis: Analysis, workdir: Path) -> Path:
    """A local path to the video: the stored upload, a copy of it, or the fetched URL."""
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
    progress.report(analysis.id, stage=Status.FETCHING, progress=2, message="Downloading.")
    fetched = fetch(analysis.source_url, workdir)
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


def fetch(url: str, workdir: Path) -> FetchedVideo:
    """Download a link's video within the settings' limits (jobs and the detect command)."""
    return fetch_video(
        url,
        workdir,
        max_bytes=settings.FETCH_MAX_BYTES,
        max_duration_s=settings.FETCH_MAX_DURATION_S,
        timeout_s=settings.FETCH_TIMEOUT_S,
        allow_hosts=settings.FETCH_ALLOW_HOSTS,
    )


def _detect(analysis: Analysis, path: Path) -> dict[str, Any]:
    from unmask.analyses.engine import engine  # loads torch: only where jobs run

    result = engine().detect(path, on_progress=ProgressRelay(analysis.id))
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
        if status not in RUNNING:  # done/failed are written by mark_done/mark_failed
            return
        now = time.monotonic()
        if status == self._stage and now - self._written_at < PROGRESS_INTERVAL_S:
            return
        self._stage, self._written_at = status, now
        db_retry(
            lambda: progress.report(
                self.analysis_id, stage=status, progress=progress.percent(status, fraction)
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
