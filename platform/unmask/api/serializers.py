"""API shapes. Output is Analysis.to_status() (+ evidence), declared here for the schema."""

from typing import Any

from rest_framework import serializers

from unmask.analyses.models import Analysis, Status, Verdict
from unmask.analyses.preview import preview_path


class SubmitSerializer(serializers.Serializer):
    """A video file (multipart `file`) or a link (`url`): exactly one of them."""

    file = serializers.FileField(required=False, allow_empty_file=True, use_url=False)
    url = serializers.CharField(required=False, allow_blank=True, max_length=2048)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("file")) == bool((attrs.get("url") or "").strip()):
            raise serializers.ValidationError(
                "Send a video file (multipart field “file”) or a link (“url”): just one of them."
            )
        return attrs


class ReviewSummarySerializer(serializers.Serializer):
    decision = serializers.CharField()
    decision_label = serializers.CharField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()


class AnalysisStatusSerializer(serializers.Serializer):
    """The state of one job: the same keys the websocket sends."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Status.choices)
    stage = serializers.ChoiceField(choices=Status.choices)
    stage_label = serializers.CharField()
    progress = serializers.IntegerField(help_text="Percent of the whole job, 0-100.")
    message = serializers.CharField()
    error = serializers.CharField(help_text="Why it failed, in a sentence; empty otherwise.")
    verdict = serializers.ChoiceField(choices=Verdict.choices, allow_null=True)
    verdict_label = serializers.CharField(allow_null=True)
    fake_probability = serializers.FloatField(allow_null=True)
    model_version = serializers.CharField(allow_null=True)
    source_name = serializers.CharField()
    source_url = serializers.CharField()
    is_flagged = serializers.BooleanField()
    reported_by_owner = serializers.BooleanField()
    reused = serializers.BooleanField(help_text="True when an identical earlier result was reused.")
    review = ReviewSummarySerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    result_url = serializers.URLField()
    ws_url = serializers.CharField()

    def to_representation(self, instance: Analysis) -> dict[str, Any]:
        data = instance.to_status()
        request = self.context.get("request")
        if request is not None:
            data["result_url"] = request.build_absolute_uri(data["result_url"])
            ws_scheme = "wss" if request.is_secure() else "ws"
            data["ws_url"] = f"{ws_scheme}://{request.get_host()}{data['ws_url']}"
        return data


class AnalysisDetailSerializer(AnalysisStatusSerializer):
    """A job plus its evidence: face tracks (with thumbnails), per-frame scores, notes."""

    tracks = serializers.ListField(child=serializers.DictField())
    per_frame = serializers.ListField(child=serializers.DictField())
    quality = serializers.ListField(child=serializers.CharField())
    frames_analyzed = serializers.IntegerField(allow_null=True)
    faces_found = serializers.IntegerField(allow_null=True)
    model = serializers.DictField(allow_null=True)
    video = serializers.DictField(allow_null=True)
    preview_url = serializers.URLField(
        allow_null=True,
        help_text="The video as browsers play it (H.264 MP4, at most 720p) once the check is "
        "done; null before then or without a stored video.",
    )

    def to_representation(self, instance: Analysis) -> dict[str, Any]:
        path = preview_path(instance)
        request = self.context.get("request")
        url = request.build_absolute_uri(path) if path and request is not None else path
        return {
            **super().to_representation(instance),
            **instance.evidence(),
            "preview_url": url or None,
        }


class ReportSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)
