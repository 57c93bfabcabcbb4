"""Fixtures for the gateway providers: recorded payloads, and providers on the sandbox.

The sandbox itself is the suite's one fixture (tests/sandbox_fixture.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.runner import SandboxHandle
from studio.providers.gateway import GatewayProvider
from studio.providers.mountsea import MountseaProvider
from studio.providers.openai_videos import OpenAIVideosProvider
from tests.providers.contracts import GATEWAYS, GatewayContract

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "sk-live-SECRET-key-123456"
# Short timeouts: the sandbox's read_timeout fault sleeps longer than this.
TEST_TIMEOUT = httpx.Timeout(connect=2.0, read=1.0, write=2.0, pool=2.0)


def payload(name: str) -> dict[str, Any]:
    """A recorded answer, e.g. payload("mountsea/result_completed_video_url")."""
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return data


def replay(name: str) -> httpx.Response:
    data = payload(name)
    headers = dict(data.get("headers", {}))
    if "body" in data:
        return httpx.Response(data["status"], json=data["body"], headers=headers)
    return httpx.Response(data["status"], text=data["text"], headers=headers)


class Recorder:
    """A MockTransport that answers from payload files and remembers requests."""

    def __init__(self, *answers: str | httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return replay(answer)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


@pytest.fixture
def mountsea_replay() -> Iterator[Callable[..., tuple[MountseaProvider, Recorder]]]:
    made: list[MountseaProvider] = []

    def make(*answers: str | httpx.Response | Exception) -> tuple[MountseaProvider, Recorder]:
        recorder = Recorder(*answers)
        provider = MountseaProvider(
            base_url="https://api.mountsea.example",
            api_key=SECRET,
            transport=recorder.transport,
        )
        made.append(provider)
        return provider, recorder

    yield make
    for provider in made:
        provider.close()


@pytest.fixture
def openai_replay() -> Iterator[Callable[..., tuple[OpenAIVideosProvider, Recorder]]]:
    made: list[OpenAIVideosProvider] = []

    def make(
        *answers: str | httpx.Response | Exception, auth: str = "raw"
    ) -> tuple[OpenAIVideosProvider, Recorder]:
        recorder = Recorder(*answers)
        provider = OpenAIVideosProvider(
            base_url="https://gateway.example/v1",
            api_key=SECRET,
            auth=auth,
            transport=recorder.transport,
        )
        made.append(provider)
        return provider, recorder

    yield make
    for provider in made:
        provider.close()


@pytest.fixture(params=GATEWAYS, ids=str)
def contract(request: pytest.FixtureRequest) -> GatewayContract:
    """Each registered gateway in turn (tests/providers/contracts.py)."""
    found: GatewayContract = request.param
    return found


@pytest.fixture
def gateway_replay(
    contract: GatewayContract,
) -> Iterator[Callable[..., tuple[GatewayProvider, Recorder]]]:
    """Build the gateway under test on recorded answers."""
    made: list[GatewayProvider] = []

    def make(*answers: str | httpx.Response | Exception) -> tuple[GatewayProvider, Recorder]:
        recorder = Recorder(*answers)
        provider = contract.make(
            base_url="https://gateway.example", api_key=SECRET, transport=recorder.transport
        )
        made.append(provider)
        return provider, recorder

    yield make
    for provider in made:
        provider.close()


@pytest.fixture
def on_sandbox(
    contract: GatewayContract, sandbox: SandboxHandle, allow_private: None
) -> Iterator[GatewayProvider]:
    """The gateway under test, pointed at the sandbox."""
    provider = contract.make(base_url=sandbox.url, api_key=sandbox.key, timeout=TEST_TIMEOUT)
    yield provider
    provider.close()


@pytest.fixture
def allow_private(settings: Any) -> None:
    settings.STUDIO_ALLOW_PRIVATE_URLS = True


@pytest.fixture
def sandbox_mountsea(sandbox: SandboxHandle, allow_private: None) -> Iterator[MountseaProvider]:
    provider = MountseaProvider(
        base_url=sandbox.url,
        api_key=sandbox.key,
        timeout=TEST_TIMEOUT,
        download_timeout=TEST_TIMEOUT,
    )
    yield provider
    provider.close()


@pytest.fixture
def sandbox_openai(sandbox: SandboxHandle, allow_private: None) -> Iterator[OpenAIVideosProvider]:
    provider = OpenAIVideosProvider(
        base_url=sandbox.url,
        api_key=sandbox.key,
        auth="raw",
        timeout=TEST_TIMEOUT,
        download_timeout=TEST_TIMEOUT,
    )
    yield provider
    provider.close()


def wait_terminal(provider: Any, upstream_id: str, timeout: float = 5.0) -> tuple[Any, list[str]]:
    """Poll until a terminal state; return the last result and every status word seen."""
    import time

    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        result = provider.poll(upstream_id)
        if not seen or seen[-1] != result.upstream_status:
            seen.append(result.upstream_status)
        if result.state in ("succeeded", "failed", "cancelled"):
            return result, seen
        if time.monotonic() > deadline:
            raise AssertionError(f"still {result.state} after {timeout}s: {seen}")
        time.sleep(0.01)
