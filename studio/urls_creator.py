"""Creator UI: generate, library, queue, gallery, video pages and media delivery."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
