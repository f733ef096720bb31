"""Site pages: home, check a video, the result, history, and the owner's actions on a result."""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from unmask.analyses.forms import HistoryFilterForm, ReportForm, SubmitForm
from unmask.analyses.media import stream_source
from unmask.analyses.model_card import card_html
from unmask.analyses.models import Analysis, Status
from unmask.analyses.preview import preview_path, stream_preview
from unmask.analyses.services import (
    SubmissionRefused,
    delete_analysis,
    refuse_oversized_body,
    report_analysis,
    set_sharing,
    submit_analysis,
    upload_limits,
)
from unmask.analyses.status import status_of, verdict_words

HISTORY_PAGE_SIZE = 20


def home(request: HttpRequest) -> HttpResponse:
    recent = Analysis.objects.visible_to(request.user)[:5]
    return render(request, "home.html", {"recent": recent, **upload_limits()})


@login_required
def history(request: HttpRequest) -> HttpResponse:
    form = HistoryFilterForm(request.GET or None)
    analyses = Analysis.objects.visible_to(request.user)
    if form.is_bound and form.is_valid():
        analyses = form.apply(analyses)
    page = Paginator(analyses, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "analyses/list.html",
        {"form": form, "page": page, "query": query.urlencode(), "filtered": bool(query)},
    )


@login_required
def new_analysis(request: HttpRequest) -> HttpResponse:
    """The form posts normally without JavaScript; upload.js posts by XHR and reads JSON."""
    wants_json = request.headers.get("X-Requested-With") == "XMLHttpRequest"
    form = SubmitForm()
    if request.method == "POST":
        error, code = "", 400
        try:
            refuse_oversized_body(request.META.get("CONTENT_LENGTH"))
            form = SubmitForm(request.POST, request.FILES)
            if form.is_valid():
                analysis = submit_analysis(
                    request.user,
                    upload=form.cleaned_data.get("file"),
                    url=form.cleaned_data.get("url"),
                )
                if wants_json:
                    return JsonResponse(
                        {"id": str(analysis.id), "result_url": analysis.get_absolute_url()},
                        status=200 if analysis.reused_from_id else 201,
                    )
                return redirect(analysis)
            error = next(iter(form.errors.values()))[0]
        except SubmissionRefused as exc:
            error, code = exc.message, exc.status_code
        if wants_json:
            return JsonResponse({"error": error}, status=code)
        return render(
            request,
            "analyses/new.html",
            {"form": form, "error": error, **upload_limits()},
            status=code,
        )
    return render(request, "analyses/new.html", {"form": form, **upload_limits()})


def model_card(request: HttpRequest) -> HttpResponse:
    """The page every result links to, so a verdict can be cited with what made it."""
    return render(request, "analyses/model_card.html", {"card": card_html()})


@login_required
def detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    analysis = _own(request, pk)
    return render(request, "analyses/detail.html", _result_context(request, analysis, shared=False))


@login_required
def video(request: HttpRequest, pk: UUID) -> HttpResponse:
    return stream_source(request, _own(request, pk))


@login_required
def preview(request: HttpRequest, pk: UUID) -> HttpResponse:
    return stream_preview(request, _own(request, pk))


@login_required
def export(request: HttpRequest, pk: UUID) -> HttpResponse:
    analysis = _own(request, pk)
    response = JsonResponse(
        {**status_of(analysis), **analysis.evidence()}, json_dumps_params={"indent": 2}
    )
    response["Content-Disposition"] = f'attachment; filename="unmask-{analysis.id}.json"'
    return response


@login_required
@require_POST
def delete(request: HttpRequest, pk: UUID) -> HttpResponse:
    analysis = _own(request, pk)
    name = analysis.display_name
    delete_analysis(analysis)
    messages.success(request, f"Deleted the check of “{name}” and its stored video.")
    return redirect("analyses:list")


@login_required
@require_POST
def report(request: HttpRequest, pk: UUID) -> HttpResponse:
    analysis = _own(request, pk)
    form = ReportForm(request.POST)
    reason = form.cleaned_data.get("reason", "") if form.is_valid() else ""
    try:
        report_analysis(analysis, reason)
    except SubmissionRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Thanks — a reviewer will look at this video.")
    return redirect(analysis)


@login_required
@require_POST
def share(request: HttpRequest, pk: UUID) -> HttpResponse:
    analysis = _own(request, pk)
    enabled = request.POST.get("enabled") == "1"
    set_sharing(analysis, enabled=enabled)
    messages.success(
        request,
        "Anyone with the link can now see this result."
        if enabled
        else "Sharing is off; the old link no longer works.",
    )
    return redirect(analysis)


def shared(request: HttpRequest, token: str) -> HttpResponse:
    analysis = _shared(token)
    return render(request, "analyses/detail.html", _result_context(request, analysis, shared=True))


def shared_video(request: HttpRequest, token: str) -> HttpResponse:
    return stream_source(request, _shared(token))


def shared_preview(request: HttpRequest, token: str) -> HttpResponse:
    return stream_preview(request, _shared(token))


# --- helpers -----------------------------------------------------------------------------------


def _own(request: HttpRequest, pk: UUID) -> Analysis:
    """Another user's analysis is a 404, exactly like one that does not exist."""
    return get_object_or_404(Analysis.objects.visible_to(request.user).with_status(), pk=pk)


def _shared(token: str) -> Analysis:
    return get_object_or_404(Analysis.objects.with_status(), share_token=token, is_public=True)


def _result_context(request: HttpRequest, analysis: Analysis, *, shared: bool) -> dict[str, Any]:
    evidence = analysis.evidence()
    model = evidence.get("model") or {}
    video_url = (
        reverse("analyses:shared-video", args=[analysis.share_token])
        if shared
        else reverse("analyses:video", args=[analysis.id])
    )
    share_url = (
        request.build_absolute_uri(reverse("analyses:shared", args=[analysis.share_token]))
        if analysis.is_public and analysis.share_token
        else ""
    )
    return {
        "analysis": analysis,
        "shared": shared,
        "status": status_of(analysis),
        "evidence": evidence,
        "tracks": sorted(evidence["tracks"], key=lambda t: -(t.get("score") or 0)),
        "words": verdict_words(analysis, model),
        "review": analysis.latest_review(),
        "video_url": video_url if analysis.source else "",
        "preview_url": preview_path(analysis, shared=shared),
        "share_url": share_url,
        "report_form": ReportForm(),
        "is_active": analysis.is_active,
        "Status": Status,
    }
