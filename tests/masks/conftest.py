from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from studio.models import Video
from studio.sandbox import SandboxHandle, start_sandbox
from tests.conftest import Cast
from tests.masks import builders


@pytest.fixture
def video(cast: Cast) -> Video:
    """A finished 2 s 640x360 video of the cast's project, made by the local engine."""
    return builders.make_video(cast.project, cast.owner)


@pytest.fixture
def mountsea_on(settings: Any) -> None:
    settings.STUDIO_MOUNTSEA_URL = "http://127.0.0.1:9"
    settings.STUDIO_MOUNTSEA_KEY = "test-key"


@pytest.fixture(scope="session")
def sandbox_gateway() -> Iterator[SandboxHandle]:
    handle = start_sandbox(key="mask-sandbox-key", step_seconds=0.05)
    yield handle
    handle.stop()


@pytest.fixture
def sandbox(sandbox_gateway: SandboxHandle, settings: Any) -> Iterator[SandboxHandle]:
    """The sandbox gateway serving the Mountsea contract on 127.0.0.1, configured as Mountsea."""
    sandbox_gateway.reset()
    settings.STUDIO_MOUNTSEA_URL = sandbox_gateway.url
    settings.STUDIO_MOUNTSEA_KEY = sandbox_gateway.key
    settings.STUDIO_ALLOW_PRIVATE_URLS = True
    yield sandbox_gateway
    sandbox_gateway.reset()
