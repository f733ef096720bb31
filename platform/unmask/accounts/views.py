"""Account pages that Django's auth views do not cover: sign-up and the profile with tokens."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.views.decorators.http import require_POST

from unmask.accounts.forms import NewTokenForm, SignUpForm
from unmask.accounts.models import DeviceToken
from unmask.accounts.services import issue_token, revoke_token


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(resolve_url(settings.LOGIN_REDIRECT_URL))
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome to Unmask, {user.get_username()}.")
        return redirect(resolve_url(settings.LOGIN_REDIRECT_URL))
    return render(request, "accounts/signup.html", {"form": form})


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """The account and its API tokens; a token made here is shown once, in this response."""
    form = NewTokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        new_key = issue_token(request.user, form.cleaned_data["device"]).key
        form = NewTokenForm()
    tokens = DeviceToken.objects.owned_by(request.user).select_related("auth_token")
    return render(
        request, "accounts/profile.html", {"tokens": tokens, "form": form, "new_key": new_key}
    )


@login_required
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(DeviceToken.objects.owned_by(request.user), pk=pk)
    revoke_token(token)
    messages.success(request, f"The token for “{token.device}” is revoked.")
    return redirect("profile")
