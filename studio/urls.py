from django.urls import path

from studio.views import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
]
