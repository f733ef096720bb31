"""Analysis: one check of one video. The row is the source of truth for the job's state."""

import secrets
import uuid
from datetime import timedelta
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from detection.scoring import Verdict as EngineVerdict
from detection.stages import Stage

# The engine names the stages and verdicts; the platform only adds the words people read.
STATUS_LABELS = {
    Stage.QUEUED: "Waiting in line",
    Stage.FETCHING: "Downloading the video",
    Stage.DECODING: "Reading frames",
    Stage.DETECTING_FACES: "Finding faces",
    Stage.SCORING: "Scoring faces",
    Stage.DONE: "Done",
    Stage.FAILED: "Failed",
}
VERDICT_LABELS = {
    EngineVerdict.REAL: "Likely real",
    EngineVerdict.FAKE: "Likely fake",
    EngineVerdict.UNCERTAIN: "Uncertain",
    EngineVerdict.NO_FACE: "No face found",
}
Status = models.TextChoices(
    "Status", [(stage.name, (stage.value, STATUS_LABELS[stage])) for stage in Stage]
)
Verdict = models.TextChoices(
    "Verdict",
    [(verdict.name, (verdict.value, VERDICT_LABELS[verdict])) for verdict in EngineVerdict],
)


RUNNING = (Status.FETCHING, Status.DECODING, Status.DETECTING_FACES, Status.SCORING)
ACTIVE = (Status.QUEUED, *RUNNING)
FINISHED = (Status.DONE, Status.FAILED)


def source_upload_to(analysis: "Analysis", filename: str) -> str:
    """One folder per analysis, so deleting an analysis removes exactly its media."""
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"analyses/{analysis.id}/source{suffix}"


class AnalysisQuerySet(models.QuerySet["Analysis"]):
    def visible_to(self, user: Any) -> "AnalysisQuerySet":
        """The only way pages, API, websocket and media fetch an analysis: owners see their own."""
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(owner=user)

    def with_status(self) -> "AnalysisQuerySet":
        """What the status payload reads (the reused original, both rows' reviews), fetched in
        a fixed number of queries however many rows there are."""
        return self.select_related("reused_from").prefetch_related(
            "reviews", "reused_from__reviews"
        )

    def active(self) -> "AnalysisQuerySet":
        return self.filter(status__in=ACTIVE)

    def originals(self) -> "AnalysisQuerySet":
        """Finished analyses that ran the engine themselves; reuse points at these, never copies."""
        return self.filter(status=Status.DONE, reused_from__isnull=True).exclude(model_version="")

    def current_model_version(self) -> str:
        """The model version the workers run now: the newest original result's.

        Read from results rather than the checkpoint so web processes never load torch.
        """
        latest = self.originals().order_by("-finished_at").values_list("model_version", flat=True)
        return latest.first() or ""

    def reusable(self, *, content_hash: str = "", url: str = "") -> "Analysis | None":
        """A finished result for the same video (or a recently checked URL) by the current model."""
        version = self.current_model_version()
        if not version:
            return None
        if content_hash:
            candidates = self.originals().filter(content_hash=content_hash)
        elif url:
            # A link's latest result may itself be a copy (its video matched an earlier one).
            since = timezone.now() - timedelta(hours=settings.ANALYSIS_URL_REUSE_HOURS)
            candidates = self.filter(status=Status.DONE, source_url=url, finished_at__gte=since)
        else:
            return None
        match = (
            candidates.filter(model_version=version)
            .select_related("reused_from")
            .order_by("-finished_at")
            .first()
        )
        return (match.reused_from or match) if match else None


class Analysis(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="analyses"
    )

    source = models.FileField(upload_to=source_upload_to, blank=True, max_length=255)
    source_url = models.URLField(max_length=2048, blank=True)
    source_name = models.CharField(max_length=255, blank=True)
    source_size = models.BigIntegerField(null=True, blank=True)
    content_hash = models.CharField(max_length=64, blank=True, db_index=True)  # sha256 hex
    model_version = models.CharField(max_length=64, blank=True)

    status = models.CharField(max_length=20, choices=Status, default=Status.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)  # percent of the whole job
    message = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)  # a sentence for a person, never a traceback

    result = models.JSONField(null=True, blank=True)  # DetectionResult.to_dict()
    verdict = models.CharField(max_length=20, choices=Verdict, blank=True, db_index=True)
    fake_probability = models.FloatField(null=True, blank=True)

    is_flagged = models.BooleanField(default=False, db_index=True)
    flag_reason = models.CharField(max_length=255, blank=True)
    reported_by_owner = models.BooleanField(default=False)

    is_public = models.BooleanField(default=False)
    share_token = models.CharField(max_length=43, unique=True, null=True, blank=True)

    reused_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reuses"
    )

    attempts = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)  # set by progress.report only
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = AnalysisQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "analyses"
        indexes = [models.Index(fields=["owner", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("analyses:detail", args=[self.id])

    # --- reading -----------------------------------------------------------------------------

    @property
    def display_name(self) -> str:
        return self.source_name or self.source_url or "video"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def ws_path(self) -> str:
        return f"/ws/analyses/{self.id}/"

    @property
    def reused(self) -> bool:
        return self.reused_from_id is not None

    def latest_review(self) -> Any:
        """The newest staff review of this video; a reused result shows its original's review.

        Reviews come newest first (Review.Meta.ordering), from the prefetch of with_status()
        when the row was read through it."""
        for analysis in (self, self.reused_from):
            if analysis is not None and (review := analysis.reviews.all().first()) is not None:
                return review
        return None

    def evidence(self) -> dict[str, Any]:
        """The heavy part of a result (tracks with thumbnails, per-frame scores, notes)."""
        result = self.result or {}
        return {
            "tracks": result.get("tracks", []),
            "per_frame": result.get("per_frame", []),
            "quality": result.get("quality", []),
            "frames_analyzed": result.get("frames_analyzed"),
            "faces_found": result.get("faces_found"),
            "model": result.get("model"),
            "video": result.get("video"),
        }

    # --- sharing (progress and outcomes are written by analyses.progress only) -------------

    def enable_sharing(self) -> None:
        if not self.share_token:
            self.share_token = secrets.token_urlsafe(24)
        self.is_public = True
        self.save(update_fields=["is_public", "share_token"])

    def disable_sharing(self) -> None:
        """Turning sharing off also retires the token, so an old link never comes back to life."""
        self.is_public = False
        self.share_token = None
        self.save(update_fields=["is_public", "share_token"])
