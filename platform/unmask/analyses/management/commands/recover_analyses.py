"""Re-queue analyses whose worker went silent, or fail them after too many attempts."""

from django.core.management.base import BaseCommand

from unmask.analyses.tasks import recover_stale, resend_queued


class Command(BaseCommand):
    help = (
        "Re-queue stale running analyses (heartbeat older than ANALYSIS_STALE_SECONDS) and, "
        "on Celery, send again those queued longer than ANALYSIS_RESEND_QUEUED_SECONDS."
    )

    def handle(self, *args: object, **options: object) -> None:
        counts = recover_stale(requeue=True)
        resent = resend_queued()
        self.stdout.write(
            f"re-queued {counts['requeued']}, failed {counts['failed']}, sent again {resent}"
        )
