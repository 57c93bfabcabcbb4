"""Mask painter and object removal."""

from django.urls import path

from studio.views import masks

urlpatterns = [
    path("videos/<uuid:video_id>/remove/", masks.painter, name="painter"),
    path("videos/<uuid:video_id>/remove/video/", masks.video_file, name="painter_video"),
    path("masks/<uuid:mask_id>/image/", masks.mask_image, name="mask_image"),
]
