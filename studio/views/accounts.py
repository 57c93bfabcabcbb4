from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from studio.forms.accounts import SignupForm


@login_not_required
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.STUDIO_SIGNUP:
        raise Http404("Sign-up is turned off on this Studio. Ask an administrator for an account.")
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
        messages.success(request, "Welcome to Studio. Your personal team is ready.")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})
