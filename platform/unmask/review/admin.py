"""Django admin for staff: analyses with their reviews inline, and the review audit trail."""

from django.contrib import admin

from unmask.analyses.models import Analysis
from unmask.review.models import Review


class ReviewInline(admin.TabularInline):
    """Earlier reviews are history: shown, never edited or deleted here."""

    model = Review
    extra = 1
    fields = ["decision", "note", "reviewer", "created_at"]
    readonly_fields = ["reviewer", "created_at"]
    can_delete = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Analysis)
class AnalysisAdmin(admin.ModelAdmin):
    list_display = [
        "display_name",
        "owner",
        "status",
        "verdict",
        "fake_probability",
        "is_flagged",
        "reported_by_owner",
        "created_at",
    ]
    list_filter = ["status", "verdict", "is_flagged", "reported_by_owner", "created_at"]
    list_select_related = ["owner"]
    search_fields = ["source_name", "source_url", "owner__username", "id"]
    date_hierarchy = "created_at"
    inlines = [ReviewInline]
    readonly_fields = [
        field.name
        for field in Analysis._meta.get_fields()
        if field.concrete and field.name not in {"is_flagged", "flag_reason", "is_public"}
    ]

    def has_add_permission(self, request) -> bool:
        return False  # analyses start from an upload or a link, on the site or the API

    def save_formset(self, request, form, formset, change) -> None:
        """New inline reviews are signed by the staff member who saves them."""
        for review in formset.save(commit=False):
            if review.pk is None:
                review.reviewer = request.user
            review.save()


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["analysis", "decision", "reviewer", "created_at"]
    list_filter = ["decision", "created_at"]
    list_select_related = ["analysis", "reviewer"]
    search_fields = ["note", "reviewer__username", "analysis__source_name"]
    readonly_fields = ["analysis", "reviewer", "decision", "note", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the audit trail keeps every review
