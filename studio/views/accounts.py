from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from studio.forms.accounts import SignupForm

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def locked_out(request: HttpRequest, response: Any, credentials: Any) -> HttpResponse:
    """django-axes' answer to a sign-in while the account or address is locked."""
    minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes}
    return render(request, "registration/locked_out.html", context, status=429)


@login_not_required
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.STUDIO_SIGNUP:
        raise Http404("Sign-up is turned off on this Studio. Ask an administrator for an account.")
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend=MODEL_BACKEND)
        messages.success(request, "Welcome to Studio. Your personal team is ready.")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})
