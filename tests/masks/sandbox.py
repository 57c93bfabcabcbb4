"""The sandbox gateway configured as Studio's Mountsea, for removal tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from studio.sandbox import SandboxHandle, start_sandbox


@pytest.fixture(scope="session", name="sandbox_gateway")
def sandbox_gateway_fixture() -> Iterator[SandboxHandle]:
    handle = start_sandbox(key="mask-sandbox-key", step_seconds=0.05)
    yield handle
    handle.stop()


@pytest.fixture(name="sandbox")
def sandbox_fixture(sandbox_gateway: SandboxHandle, settings: Any) -> Iterator[SandboxHandle]:
    """The sandbox gateway serving the Mountsea contract on 127.0.0.1, configured as Mountsea."""
    sandbox_gateway.reset()
    settings.STUDIO_MOUNTSEA_URL = sandbox_gateway.url
    settings.STUDIO_MOUNTSEA_KEY = sandbox_gateway.key
    settings.STUDIO_ALLOW_PRIVATE_URLS = True
    yield sandbox_gateway
    sandbox_gateway.reset()
