"""Studio's URLs plus the trivial view the benchmark compares against."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


@login_not_required
def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


def trivial_member(request: HttpRequest) -> HttpResponse:
    """The same, behind Studio's sign-in like every creator view (session + user)."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/trivial/", trivial),
    path("bench/trivial-member/", trivial_member),
    path("", include("config.urls")),
]
