"""How a job reads to people and programs. Its status is built by one serializer: the API, the
websocket, the review queue and the pages all read `status_of()`, and the API schema is this
serializer's fields. `verdict_words` puts a result in sentences for the owner's and staff pages."""

from typing import Any

from django.http import HttpRequest
from rest_framework import serializers

from unmask.analyses.model_card import citation, uncertain_sentence
from unmask.analyses.models import Analysis, Status, Verdict


class IsoDateTime(serializers.DateTimeField):
    """ISO 8601 as Python writes it, the same string in every channel."""

    def to_representation(self, value: Any) -> str:
        return value.isoformat()


class NullIfBlank:
    """A blank text column (no verdict yet, no model version) is sent as null."""

    def to_representation(self, value: Any) -> Any:
        return super().to_representation(value) if value else None  # type: ignore[misc]


class OptionalChoice(NullIfBlank, serializers.ChoiceField):
    pass


class OptionalText(NullIfBlank, serializers.CharField):
    pass


class ReviewSummarySerializer(serializers.Serializer):
    decision = serializers.CharField()
    decision_label = serializers.CharField(source="get_decision_display")
    note = serializers.CharField()
    created_at = IsoDateTime()


class AnalysisStatusSerializer(serializers.Serializer):
    """The state of one job: the same keys the websocket sends."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Status.choices)
    stage = serializers.ChoiceField(choices=Status.choices, source="status")
    stage_label = serializers.CharField(source="get_status_display")
    progress = serializers.IntegerField(help_text="Percent of the whole job, 0-100.")
    message = serializers.CharField()
    error = serializers.CharField(help_text="Why it failed, in a sentence; empty otherwise.")
    verdict = OptionalChoice(choices=Verdict.choices, allow_null=True)
    verdict_label = OptionalText(source="get_verdict_display", allow_null=True)
    fake_probability = serializers.FloatField(allow_null=True)
    model_version = OptionalText(allow_null=True)
    source_name = serializers.CharField()
    source_url = serializers.CharField()
    is_flagged = serializers.BooleanField()
    reported_by_owner = serializers.BooleanField()
    reused = serializers.BooleanField(help_text="True when an identical earlier result was reused.")
    review = ReviewSummarySerializer(source="latest_review", allow_null=True)
    created_at = IsoDateTime()
    updated_at = IsoDateTime()
    started_at = IsoDateTime(allow_null=True)
    finished_at = IsoDateTime(allow_null=True)
    result_url = serializers.URLField(source="get_absolute_url")
    ws_url = serializers.CharField(source="ws_path")

    def to_representation(self, instance: Analysis) -> dict[str, Any]:
        """With a request in the context (the API), the two links are absolute."""
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None:
            data["result_url"] = request.build_absolute_uri(data["result_url"])
            ws_scheme = "wss" if request.is_secure() else "ws"
            data["ws_url"] = f"{ws_scheme}://{request.get_host()}{data['ws_url']}"
        return data


def status_of(analysis: Analysis, request: HttpRequest | None = None) -> dict[str, Any]:
    """The status payload as plain data (read rows through `with_status()` to save queries)."""
    return dict(AnalysisStatusSerializer(analysis, context={"request": request}).data)


def verdict_words(analysis: Analysis, model: dict[str, Any]) -> dict[str, str]:
    """The verdict in plain words, with the band in which the model says it is unsure."""
    if analysis.status != Status.DONE:
        return {}
    p = analysis.fake_probability
    sentences = {
        Verdict.FAKE: "The model found signs that this video was manipulated.",
        Verdict.REAL: "The model found no signs of manipulation in the faces it saw.",
        Verdict.UNCERTAIN: "The model cannot tell either way; treat this result with care.",
        Verdict.NO_FACE: "No face was found, so Unmask could not judge this video.",
    }
    chance = f"It puts the chance that the faces are fake at {p:.0%}." if p is not None else ""
    return {
        "headline": analysis.get_verdict_display() if analysis.verdict else "No verdict",
        "sentence": sentences.get(analysis.verdict, ""),
        "chance": chance,
        "band": uncertain_sentence(model.get("uncertain_band")),
        "detector": citation(analysis.model_version),
    }
