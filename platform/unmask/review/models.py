"""Staff decisions on flagged analyses. Rows are only ever added: the history is the audit trail."""

from django.conf import settings
from django.db import models


class Decision(models.TextChoices):
    CONFIRMED_FAKE = "confirmed_fake", "Confirmed fake"
    REAL = "real", "Real"
    INCONCLUSIVE = "inconclusive", "Inconclusive"


class Review(models.Model):
    analysis = models.ForeignKey(
        "analyses.Analysis", on_delete=models.CASCADE, related_name="reviews"
    )
    # A reviewer who leaves keeps their decisions on record (as "former staff").
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="reviews"
    )
    decision = models.CharField(max_length=20, choices=Decision.choices)
    note = models.TextField(blank=True, max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        get_latest_by = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} on analysis {self.analysis_id}"

    @property
    def reviewer_name(self) -> str:
        return self.reviewer.get_username() if self.reviewer else "former staff"
