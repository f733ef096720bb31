"""Celery glue: the analysis task (ids only, JSON) and stale-job recovery inside the worker."""

import logging
import threading
import time
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)


@shared_task(
    name="detection.run_analysis",
    acks_late=True,  # a worker that dies mid-job leaves the message for another worker
    reject_on_worker_lost=True,
    ignore_result=True,
)
def run_analysis_task(analysis_id: str) -> None:
    """Routed to the `detection` queue; run twice, it runs the analysis once (claim by id)."""
    from detection import jobs

    jobs.run_analysis(analysis_id)


@worker_ready.connect
def start_stale_sweeper(**_: Any) -> None:
    """Each worker checks for stale and unsent jobs at start and then periodically."""
    threading.Thread(target=_sweep_forever, name="unmask-stale-sweeper", daemon=True).start()


def _sweep_forever() -> None:
    from detection import jobs

    while True:
        try:
            jobs.recover_stale(requeue=True)
            jobs.resend_queued()  # rows whose first send was lost (broker down)
        except Exception:
            logger.exception("stale-job recovery failed; retrying later")
        finally:
            close_old_connections()
        time.sleep(max(1.0, settings.ANALYSIS_STALE_SECONDS / 4))
