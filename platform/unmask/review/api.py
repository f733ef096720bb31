"""Staff-only review API: the queue, the audit trail, and recording a decision."""

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response

from unmask.analyses.models import Analysis
from unmask.analyses.status import AnalysisStatusSerializer
from unmask.review.models import Decision, Review
from unmask.review.services import record_review, review_queue


class ReviewSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer_name", read_only=True)
    decision_label = serializers.CharField(source="get_decision_display", read_only=True)
    analysis = serializers.PrimaryKeyRelatedField(queryset=Analysis.objects.all())
    decision = serializers.ChoiceField(choices=Decision.choices)

    class Meta:
        model = Review
        fields = ["id", "analysis", "decision", "decision_label", "note", "reviewer", "created_at"]
        read_only_fields = ["id", "created_at"]


class QueuedAnalysisSerializer(AnalysisStatusSerializer):
    """An analysis waiting for review: its status plus whose it is and why it is in the queue."""

    owner = serializers.CharField(source="owner.get_username")
    flag_reason = serializers.CharField()


class ReviewViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Every review ever recorded (filter with ?analysis=<id>); staff only."""

    serializer_class = ReviewSerializer
    permission_classes = [IsAdminUser]

    def get_queryset(self):
        reviews = Review.objects.select_related("reviewer")
        analysis = self.request.query_params.get("analysis")
        if analysis is None:
            return reviews
        try:
            return reviews.filter(analysis_id=UUID(analysis))
        except ValueError:
            return reviews.none()

    def create(self, request, *args, **kwargs):
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        review = record_review(
            data["analysis"], request.user, data["decision"], data.get("note", "")
        )
        return Response(self.get_serializer(review).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=QueuedAnalysisSerializer(many=True))
    @action(detail=False, methods=["get"])
    def queue(self, request):
        """Flagged or owner-reported analyses that no one has reviewed yet."""
        page = self.paginate_queryset(review_queue().with_status())
        return self.get_paginated_response(QueuedAnalysisSerializer(page, many=True).data)
