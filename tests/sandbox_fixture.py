"""The suite's one sandbox gateway: started once, emptied around each test that uses it.

`sandbox` points Studio's settings at it for both gateways (the variables
`manage.py sandbox_gateway` prints), so a test that creates jobs reaches it
through the registry, and a test that builds a provider itself can use
`sandbox.url` and `sandbox.key`. Re-exported by tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.runner import SandboxHandle, start_sandbox


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxHandle]:
    handle = start_sandbox(key="sandbox-test-key", step_seconds=0.05)
    yield handle
    handle.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxHandle, settings: Any) -> Iterator[SandboxHandle]:
    """The running sandbox, empty, with Studio configured to use it for every gateway."""
    sandbox_server.reset()
    for name, value in sandbox_server.env().items():
        setattr(settings, name, value == "1" if name == "STUDIO_ALLOW_PRIVATE_URLS" else value)
    yield sandbox_server
    sandbox_server.reset()
