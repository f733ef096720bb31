"""API shapes: what is sent in, and a job with its evidence (the status itself: analyses.status)."""

from typing import Any

from rest_framework import serializers

from unmask.analyses.models import Analysis
from unmask.analyses.preview import preview_path
from unmask.analyses.status import AnalysisStatusSerializer, status_of


class SubmitSerializer(serializers.Serializer):
    """A video file (multipart `file`) or a link (`url`): exactly one of them."""

    file = serializers.FileField(required=False, allow_empty_file=True, use_url=False)
    url = serializers.CharField(required=False, allow_blank=True, max_length=2048)


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
            **status_of(instance, self.context.get("request")),
            **instance.evidence(),
            "preview_url": url or None,
        }


class LimitsSerializer(serializers.Serializer):
    """What this server takes and the words it uses, so clients need not hard-code them."""

    upload_max_bytes = serializers.IntegerField()
    upload_max_size = serializers.CharField(help_text="The same limit for people, e.g. 500.0 MB.")
    upload_extensions = serializers.ListField(child=serializers.CharField())
    verdict_labels = serializers.DictField(
        child=serializers.CharField(), help_text="Each verdict value in the words pages use."
    )


class ReportSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)
