"""Analyses API: submit a file or link, list your own, read one with its evidence, delete."""

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from unmask.analyses.models import Analysis, Verdict
from unmask.analyses.services import (
    SubmissionRefused,
    delete_analysis,
    refuse_oversized_body,
    report_analysis,
    submit_analysis,
    upload_limits,
)
from unmask.analyses.status import AnalysisStatusSerializer
from unmask.api.serializers import (
    AnalysisDetailSerializer,
    LimitsSerializer,
    ReportSerializer,
    SubmitSerializer,
)
from unmask.api.throttles import SubmitThrottle

UUID_PATTERN = r"[0-9a-fA-F-]{36}"

_refusal = OpenApiResponse(description="Refused, with a sentence in `detail`.")


@extend_schema_view(
    list=extend_schema(summary="Your analyses, newest first"),
    retrieve=extend_schema(summary="One analysis with its evidence"),
    destroy=extend_schema(summary="Delete an analysis and its stored video"),
)
class AnalysisViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    lookup_value_regex = UUID_PATTERN
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        return Analysis.objects.visible_to(self.request.user).with_status()

    def get_serializer_class(self):
        return {
            "retrieve": AnalysisDetailSerializer,
            "create": SubmitSerializer,
            "report": ReportSerializer,
        }.get(self.action, AnalysisStatusSerializer)

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.action == "create":
            throttles.append(SubmitThrottle())
        return throttles

    @extend_schema(
        summary="Check a video: upload a file (multipart `file`) or send a link (`url`)",
        request=SubmitSerializer,
        responses={
            201: AnalysisStatusSerializer,
            200: OpenApiResponse(AnalysisStatusSerializer, "An identical result was reused."),
            400: _refusal,
            413: _refusal,
            429: _refusal,
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            refuse_oversized_body(request.META.get("CONTENT_LENGTH"))
            form = SubmitSerializer(data=request.data)
            if not form.is_valid():
                return _refused(_first_error(form.errors), status.HTTP_400_BAD_REQUEST)
            analysis = submit_analysis(
                request.user,
                upload=form.validated_data.get("file"),
                url=form.validated_data.get("url"),
            )
        except SubmissionRefused as exc:
            return _refused(exc.message, exc.status_code)
        code = status.HTTP_200_OK if analysis.reused_from_id else status.HTTP_201_CREATED
        data = AnalysisStatusSerializer(analysis, context=self.get_serializer_context()).data
        return Response(data, status=code)

    def perform_destroy(self, instance: Analysis) -> None:
        delete_analysis(instance)

    @extend_schema(
        summary="Ask a person to review this result",
        request=ReportSerializer,
        responses={200: AnalysisStatusSerializer, 400: _refusal},
    )
    @action(detail=True, methods=["post"])
    def report(self, request: Request, pk: str | None = None, **_: Any) -> Response:
        analysis = self.get_object()
        form = ReportSerializer(data=request.data)
        if not form.is_valid():
            return _refused(_first_error(form.errors), status.HTTP_400_BAD_REQUEST)
        try:
            report_analysis(analysis, form.validated_data.get("reason", ""))
        except SubmissionRefused as exc:
            return _refused(exc.message, exc.status_code)
        context = self.get_serializer_context()
        return Response(AnalysisStatusSerializer(analysis, context=context).data)

    @extend_schema(summary="What this server takes, and the words it uses", request=None)
    @action(detail=False, methods=["get"], serializer_class=LimitsSerializer)
    def limits(self, request: Request, **_: Any) -> Response:
        limits = upload_limits()
        return Response(
            LimitsSerializer(
                {
                    "upload_max_bytes": limits["max_bytes"],
                    "upload_max_size": limits["max_size"],
                    "upload_extensions": limits["extensions"],
                    "verdict_labels": dict(Verdict.choices),
                }
            ).data
        )


def _refused(message: str, code: int) -> Response:
    return Response({"detail": message}, status=code)


def _first_error(errors: Any) -> str:
    """DRF nests errors by field; a person needs one sentence."""
    while isinstance(errors, dict | list):
        if not errors:
            return "This request is not valid."
        errors = next(iter(errors.values())) if isinstance(errors, dict) else errors[0]
    return str(errors)
