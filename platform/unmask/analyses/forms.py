"""Forms for the site pages: submitting a video, filtering history, reporting a result."""

from datetime import datetime, time

from django import forms
from django.db.models import Q
from django.utils import timezone

from unmask.analyses.models import ACTIVE, AnalysisQuerySet, Status, Verdict


class SubmitForm(forms.Form):
    """A file or a link; that it is exactly one of them is checked by submit_analysis."""

    file = forms.FileField(required=False, label="Video file")
    url = forms.CharField(
        required=False,
        max_length=2048,
        label="…or a link to a video",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/watch?v=…"}),
    )


STATUS_FILTERS = [("", "Any status"), ("active", "In progress"), *Status.choices[-2:]]


class HistoryFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search file name or link")
    verdict = forms.ChoiceField(required=False, choices=[("", "Any verdict"), *Verdict.choices])
    status = forms.ChoiceField(required=False, choices=STATUS_FILTERS)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def apply(self, analyses: AnalysisQuerySet) -> AnalysisQuerySet:
        data = self.cleaned_data
        if data.get("q"):
            analyses = analyses.filter(
                Q(source_name__icontains=data["q"]) | Q(source_url__icontains=data["q"])
            )
        if data.get("verdict"):
            analyses = analyses.filter(verdict=data["verdict"])
        if data.get("status") == "active":
            analyses = analyses.filter(status__in=ACTIVE)
        elif data.get("status"):
            analyses = analyses.filter(status=data["status"])
        zone = timezone.get_current_timezone()
        if data.get("since"):
            start = datetime.combine(data["since"], time.min, tzinfo=zone)
            analyses = analyses.filter(created_at__gte=start)
        if data.get("until"):
            end = datetime.combine(data["until"], time.max, tzinfo=zone)
            analyses = analyses.filter(created_at__lte=end)
        return analyses


class ReportForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=200,
        label="What should the reviewer know? (optional)",
        widget=forms.TextInput(attrs={"placeholder": "e.g. I know this person; the voice is off"}),
    )
