"""The review workflow: what waits for staff, and recording their decisions."""

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, Max, OuterRef, Q, QuerySet

from unmask.analyses.models import Analysis
from unmask.review.models import Decision, Review


def needs_review() -> Q:
    """Analyses that enter review: flagged by the model's score, or reported by their owner."""
    return Q(is_flagged=True) | Q(reported_by_owner=True)


def review_queue() -> QuerySet[Analysis]:
    """Flagged or reported analyses with no review yet, oldest first (first in, first out)."""
    reviewed = Review.objects.filter(analysis=OuterRef("pk"))
    return (
        Analysis.objects.filter(needs_review())
        .exclude(Exists(reviewed))
        .select_related("owner")
        .order_by("created_at", "pk")
    )


def reviewed_analyses() -> QuerySet[Analysis]:
    """Analyses with at least one review, most recently reviewed first."""
    return (
        Analysis.objects.filter(reviews__isnull=False)
        .annotate(last_reviewed_at=Max("reviews__created_at"))
        .select_related("owner")
        .order_by("-last_reviewed_at", "-pk")
    )


def record_review(analysis: Analysis, reviewer, decision: str, note: str = "") -> Review:
    """Add a staff decision; earlier ones are kept, so a change of mind is on record too."""
    if not (reviewer.is_active and reviewer.is_staff):
        raise PermissionDenied("Only staff can review analyses.")
    if decision not in Decision.values:
        raise ValueError(f"Unknown decision {decision!r}; expected one of {Decision.values}.")
    return Review.objects.create(
        analysis=analysis, reviewer=reviewer, decision=decision, note=note.strip()
    )
