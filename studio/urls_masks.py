"""Mask painter and object removal."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
