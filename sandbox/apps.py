from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """Installed for its `sandbox_gateway` management command; it has no models."""

    name = "sandbox"
    verbose_name = "Sandbox gateway (development tool)"
