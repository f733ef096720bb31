"""Workflows around an analysis: submit (with dedup and limits), delete, report, share."""

import logging
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat

from detection.errors import FetchError
from detection.fetch import check_url
from unmask.analyses import progress
from unmask.analyses.media import hash_file
from unmask.analyses.models import Analysis, Status
from unmask.analyses.preview import preview_name
from unmask.analyses.tasks import enqueue
from unmask.outage import OUTAGE_SENTENCE, REDIS_ERRORS

logger = logging.getLogger(__name__)


class SubmissionRefused(Exception):
    """A submission we will not take; `message` is shown to the person as it is."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UploadTooLarge(SubmissionRefused):
    status_code = 413


class TooManyActive(SubmissionRefused):
    status_code = 429


class QueueUnavailable(SubmissionRefused):
    """The job queue (Celery's broker) is out of reach: the submission is withdrawn."""

    status_code = 503


MULTIPART_SLACK_BYTES = 64 * 1024  # form boundaries and headers around the file


def refuse_oversized_body(content_length: str | None) -> None:
    """Refuse an upload by its declared size, before its body is read (pages and API)."""
    try:
        declared = int(content_length or 0)
    except ValueError:
        declared = 0
    if declared > settings.UPLOAD_MAX_BYTES + MULTIPART_SLACK_BYTES:
        raise UploadTooLarge(upload_limit_sentence())


def upload_limits() -> dict[str, Any]:
    """What an upload may be, as the pages, the API and the extension all show it."""
    return {
        "max_bytes": settings.UPLOAD_MAX_BYTES,
        "max_size": _size(settings.UPLOAD_MAX_BYTES),
        "extensions": [e.lower() for e in settings.UPLOAD_EXTENSIONS],
    }


def upload_limit_sentence() -> str:
    return (
        f"This file is larger than the {_size(settings.UPLOAD_MAX_BYTES)} limit. "
        "Trim the video or check it by link instead."
    )


def _size(n: int) -> str:
    return filesizeformat(n).replace("\xa0", " ")  # plain spaces read better in JSON


def submit_analysis(
    user: Any, *, upload: UploadedFile | None = None, url: str | None = None
) -> Analysis:
    """Create an Analysis for a file or a link and queue it, or reuse an identical result.

    A reused result comes back already done with `reused_from` set; callers answer 200
    instead of 201 for it.
    """
    url = (url or "").strip()
    if bool(upload) == bool(url):  # the one place this rule is checked, for pages and API
        raise SubmissionRefused("Choose a video file or paste a link to one (just one of them).")
    if upload is not None:
        return _submit_upload(user, upload)
    return _submit_url(user, url)


def _submit_upload(user: Any, upload: UploadedFile) -> Analysis:
    name = PurePath(upload.name or "video").name[:255]
    if upload.size is not None and upload.size > settings.UPLOAD_MAX_BYTES:
        raise UploadTooLarge(upload_limit_sentence())
    if not upload.size:
        raise SubmissionRefused("This file is empty. Choose a video file.")
    extension = PurePath(name).suffix.lower().lstrip(".")
    allowed = upload_limits()["extensions"]
    if extension not in allowed:
        raise SubmissionRefused(
            f"Unmask checks video files ({', '.join(allowed)}); “{name}” is not one of them."
        )
    content_hash = hash_file(upload)
    original = Analysis.objects.reusable(content_hash=content_hash)
    analysis = Analysis(
        owner=user, source_name=name, source_size=upload.size, content_hash=content_hash
    )
    analysis.source.save(name, upload, save=False)
    try:
        with transaction.atomic():
            if original is None:
                _check_active_limit(user)
            analysis.save()
            if original is not None:
                progress.mark_done(analysis, original.result or {}, reused_from=original)
            else:
                transaction.on_commit(lambda: _enqueue_or_withdraw(analysis))
    except BaseException:
        analysis.source.delete(save=False)
        raise
    analysis.refresh_from_db()
    return analysis


def _submit_url(user: Any, url: str) -> Analysis:
    if len(url) > 2048:
        raise SubmissionRefused("This link is too long to be a video address.")
    try:
        check_url(url, allow_hosts=settings.FETCH_ALLOW_HOSTS)
    except FetchError as exc:  # unsafe, malformed or unknown host
        raise SubmissionRefused(str(exc)) from exc
    original = Analysis.objects.reusable(url=url)
    with transaction.atomic():
        if original is None:
            _check_active_limit(user)
        analysis = Analysis.objects.create(owner=user, source_url=url)
        if original is not None:
            Analysis.objects.filter(pk=analysis.pk).update(
                source_name=original.source_name, content_hash=original.content_hash
            )
            progress.mark_done(analysis, original.result or {}, reused_from=original)
        else:
            transaction.on_commit(lambda: _enqueue_or_withdraw(analysis))
    analysis.refresh_from_db()
    return analysis


def _check_active_limit(user: Any) -> None:
    """Call inside the submitting transaction. The owner's row is locked first, so two web
    processes cannot both count below the limit and both create (PostgreSQL; SQLite
    transactions here are IMMEDIATE, which serialises them anyway)."""
    limit = settings.ANALYSIS_MAX_ACTIVE_PER_USER
    if not limit:
        return
    get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk").get()
    if Analysis.objects.filter(owner=user).active().count() >= limit:
        raise TooManyActive(
            f"You already have {limit} checks in progress. "
            "Wait for one of them to finish, then try again."
        )


def _enqueue_or_withdraw(analysis: Analysis) -> None:
    """Runs after commit. If the broker cannot be reached the person is told so (503) and
    the row is deleted, so nothing waits unseen; should even the delete fail, the row stays
    queued and the worker's sweep sends it later (tasks.resend_queued)."""
    try:
        enqueue(analysis.id)
    except REDIS_ERRORS as exc:
        logger.warning("could not queue analysis %s, withdrawn: %r", analysis.id, exc)
        try:
            Analysis.objects.filter(pk=analysis.pk, status=Status.QUEUED).delete()
        except Exception:
            logger.exception("could not withdraw analysis %s; the sweep will send it", analysis.id)
        raise QueueUnavailable(OUTAGE_SENTENCE) from exc


def delete_analysis(analysis: Analysis) -> None:
    """Remove the row and its stored media; copies that reused this result keep their own."""
    name, preview = analysis.source.name, preview_name(analysis)  # delete() forgets the id
    analysis.delete()
    if name:
        try:
            analysis.source.storage.delete(name)
            analysis.source.storage.delete(preview)
        except OSError:
            logger.exception("could not delete media %s of analysis %s", name, analysis.pk)


def report_analysis(analysis: Analysis, reason: str = "") -> None:
    """The owner asks a person to look at this result: it enters the review queue."""
    if analysis.status != Status.DONE:
        raise SubmissionRefused("Only a finished check can be sent for review.")
    reason = " ".join(reason.split())[:200]
    analysis.reported_by_owner = True
    analysis.is_flagged = True
    analysis.flag_reason = (
        f"Reported by its owner: {reason}" if reason else "Reported by its owner."
    )[:255]
    analysis.save(update_fields=["reported_by_owner", "is_flagged", "flag_reason"])


def set_sharing(analysis: Analysis, *, enabled: bool) -> None:
    if enabled:
        analysis.enable_sharing()
    else:
        analysis.disable_sharing()
