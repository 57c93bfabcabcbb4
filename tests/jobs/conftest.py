from __future__ import annotations

from typing import Any

import pytest

from sandbox.runner import SandboxHandle


@pytest.fixture
def gateway(sandbox: SandboxHandle, settings: Any) -> SandboxHandle:
    """The suite's sandbox (tests/sandbox_fixture.py), with short read timeouts."""
    settings.STUDIO_HTTP_READ_TIMEOUT = 1.0
    return sandbox
