"""Faults under a running job, in process: a lost enqueue is sent again, a storage that cannot
write fails the job with a sentence, a locked database is waited out."""

import logging
import threading
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.utils import timezone

from tests.reliability.conftest import is_sentence
from unmask.analyses.jobs import STORAGE_FAILURE, run_analysis
from unmask.analyses.models import Analysis, Status
from unmask.analyses.tasks import resend_queued
from unmask.celery import app


class FullDisk(FileSystemStorage):
    """A storage whose every write fails as a full disk does."""

    def _save(self, name, content):
        raise OSError(28, "No space left on device")


def sent_ids() -> list[str]:
    """Drain the `detection` queue of the in-memory broker; the analysis ids of its messages."""
    ids = []
    with app.connection_for_read() as conn:
        queue = conn.SimpleQueue("detection")
        while True:
            try:
                message = queue.get(block=False)
            except queue.Empty:
                return ids
            assert message.headers["task"] == "detection.run_analysis"
            ids.append(message.payload[0][0])
            message.ack()


@pytest.mark.django_db
def test_a_row_left_queued_is_sent_again_once_per_period(alice, settings):
    settings.ANALYSIS_RUNNER = "celery"
    settings.CELERY_BROKER_URL = "memory://"
    settings.ANALYSIS_RESEND_QUEUED_SECONDS = 600
    sent_ids()
    long_ago = timezone.now() - timedelta(minutes=30)
    lost = Analysis.objects.create(owner=alice, source_url="https://example.com/v.mp4")
    Analysis.objects.filter(pk=lost.pk).update(created_at=long_ago)
    Analysis.objects.create(owner=alice, source_url="https://example.com/new.mp4")  # just sent
    running = Analysis.objects.create(owner=alice, status=Status.SCORING)
    Analysis.objects.filter(pk=running.pk).update(created_at=long_ago)

    assert resend_queued() == 1
    assert sent_ids() == [str(lost.id)]
    # A second sweep within the period sends nothing: sweeps cannot flood the queue.
    assert resend_queued() == 0
    assert sent_ids() == []
    # After another period without a worker claiming it, it is sent again.
    Analysis.objects.filter(pk=lost.pk).update(heartbeat_at=long_ago)
    assert resend_queued() == 1
    assert sent_ids() == [str(lost.id)]


@pytest.mark.django_db
def test_the_thread_runner_needs_no_resend(alice, settings):
    settings.ANALYSIS_RUNNER = "thread"
    lost = Analysis.objects.create(owner=alice, source_url="https://example.com/v.mp4")
    Analysis.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert resend_queued() == 0


@pytest.mark.django_db
def test_a_storage_write_error_fails_the_job_with_a_sentence(
    alice, settings, hostile_host, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.FETCH_ALLOW_HOSTS = ["127.0.0.1"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "tests.reliability.test_job_faults.FullDisk"},
    }
    analysis = Analysis.objects.create(owner=alice, source_url=f"{hostile_host.base}/video.mp4")

    run_analysis(analysis.id)

    analysis.refresh_from_db()
    assert hostile_host.hits  # the video was downloaded; storing it is what failed
    assert analysis.status == Status.FAILED
    assert analysis.error == STORAGE_FAILURE
    assert is_sentence(analysis.error)
    assert analysis.finished_at is not None
    assert not analysis.source


@pytest.mark.django_db(transaction=True)
def test_a_locked_database_is_waited_out(alice, settings, tmp_path, caplog):
    """Another connection holds a write transaction on the analyses table for 1.5 s while the
    job claims its row and finishes it (from an identical earlier result, no model needed)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    original = Analysis.objects.create(
        owner=alice,
        status=Status.DONE,
        content_hash="a" * 64,
        model_version="v1",
        result={"verdict": "real", "fake_probability": 0.1, "model": {"version": "v1"}},
        verdict="real",
        finished_at=timezone.now(),
    )
    analysis = Analysis(owner=alice, source_name="clip.mp4", content_hash="a" * 64)
    analysis.source.save("clip.mp4", ContentFile(b"same bytes as the original"), save=True)
    holding, held_s = threading.Event(), 1.5

    def hold_lock() -> None:
        from django.db import connection, transaction

        try:
            with transaction.atomic():
                Analysis.objects.filter(pk=original.pk).update(message="locked by a test")
                holding.set()
                time.sleep(held_s)
        finally:
            connection.close()

    locker = threading.Thread(target=hold_lock)
    locker.start()
    assert holding.wait(10)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="unmask.analyses.jobs"):
        run_analysis(analysis.id)
    locker.join()

    analysis.refresh_from_db()
    assert analysis.status == Status.DONE, analysis.error
    assert analysis.reused_from_id == original.pk
    assert time.monotonic() - started > held_s / 2  # it really waited for the lock
    retries = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert retries, "no retry was logged"
    assert "locked" in retries[0].getMessage()
