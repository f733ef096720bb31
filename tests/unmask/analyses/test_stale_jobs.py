"""A job whose worker went silent is re-queued, then failed with a reason, never left running."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from unmask.analyses.models import Analysis, Status
from unmask.analyses.tasks import recover_stale


def running(owner, *, silent_for: float, attempts: int) -> Analysis:
    beat = timezone.now() - timedelta(seconds=silent_for)
    return Analysis.objects.create(
        owner=owner,
        source_name="clip.mp4",
        status=Status.DETECTING_FACES,
        progress=40,
        attempts=attempts,
        started_at=beat,
        heartbeat_at=beat,
    )


@pytest.mark.django_db
def test_a_silent_job_is_requeued_then_failed(alice, settings):
    settings.ANALYSIS_STALE_SECONDS = 60
    settings.ANALYSIS_MAX_ATTEMPTS = 2
    first_try = running(alice, silent_for=300, attempts=1)
    second_try = running(alice, silent_for=300, attempts=2)
    alive = running(alice, silent_for=5, attempts=1)

    assert recover_stale(requeue=False) == {"requeued": 1, "failed": 1}

    first_try.refresh_from_db()
    assert first_try.status == Status.QUEUED and first_try.progress == 0
    second_try.refresh_from_db()
    assert second_try.status == Status.FAILED
    assert "stopped unexpectedly 2 times" in second_try.error
    assert second_try.finished_at is not None
    alive.refresh_from_db()
    assert alive.status == Status.DETECTING_FACES


@pytest.mark.django_db
def test_the_management_command_reports_what_it_recovered(alice, settings):
    settings.ANALYSIS_STALE_SECONDS = 60
    stale = running(alice, silent_for=600, attempts=1)
    out = StringIO()
    call_command("recover_analyses", stdout=out)
    assert "re-queued 1" in out.getvalue()
    stale.refresh_from_db()
    assert stale.status == Status.QUEUED


@pytest.mark.django_db
def test_a_finished_job_is_never_run_again(alice):
    from unmask.analyses.jobs import run_analysis

    done = Analysis.objects.create(owner=alice, status=Status.DONE, progress=100, attempts=1)
    run_analysis(done.id)  # what a redelivered Celery message would do
    done.refresh_from_db()
    assert done.status == Status.DONE and done.attempts == 1
