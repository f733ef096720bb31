"""Staff pages: the review queue and the page where a reviewer watches, reads and decides."""

from collections.abc import Callable
from functools import wraps
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from unmask.analyses.models import Analysis
from unmask.analyses.preview import stream_preview
from unmask.analyses.status import status_of, verdict_words
from unmask.review.forms import ReviewForm
from unmask.review.services import record_review, review_queue, reviewed_analyses

PAGE_SIZE = 25
TABS = {"queue": review_queue, "reviewed": reviewed_analyses}


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous visitors go to the login page; signed-in non-staff get 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied("Only staff can review analyses.")
        return view(request, *args, **kwargs)

    return wrapper


@staff_required
def queue(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("tab", "queue")
    if tab not in TABS:
        tab = "queue"
    page = Paginator(TABS[tab](), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "review/queue.html",
        {"tab": tab, "page": page, "waiting": review_queue().count()},
    )


@staff_required
def review(request: HttpRequest, pk: UUID) -> HttpResponse:
    analysis = get_object_or_404(Analysis.objects.with_status().select_related("owner"), pk=pk)
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        record_review(
            analysis, request.user, form.cleaned_data["decision"], form.cleaned_data["note"]
        )
        messages.success(request, f"Your review of analysis {analysis.pk} is recorded.")
        return redirect("review:queue")
    evidence = analysis.evidence()
    context = {
        "analysis": analysis,
        "status": status_of(analysis),
        "evidence": evidence,
        "tracks": sorted(evidence["tracks"], key=lambda t: -(t.get("score") or 0)),
        "words": verdict_words(analysis, evidence.get("model") or {}),
        "video_url": reverse("review:video", args=[analysis.pk]) if analysis.source else "",
        "form": form,
        "history": analysis.reviews.select_related("reviewer"),
    }
    return render(request, "review/review.html", context)


@staff_required
def video(request: HttpRequest, pk: UUID) -> HttpResponse:
    """The reviewed video, as its playable preview, for staff (owners use the analyses pages)."""
    return stream_preview(request, get_object_or_404(Analysis, pk=pk))
