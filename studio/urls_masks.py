"""Mask painter and object removal."""

from django.urls import path

from studio.views import masks

urlpatterns = [
    path("videos/<uuid:video_id>/remove/", masks.painter, name="painter"),
]
