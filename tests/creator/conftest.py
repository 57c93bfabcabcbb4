from __future__ import annotations

from collections.abc import Iterator

import pytest

from studio.providers import registry
from tests.creator.fake_providers import FAKE_PROVIDERS


@pytest.fixture(autouse=True)
def fake_providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The capability registry sees the fake providers only."""
    monkeypatch.setattr(registry, "PROVIDERS", dict(FAKE_PROVIDERS))
    registry.provider_class.cache_clear()
    registry.reset_providers()
    yield
    registry.provider_class.cache_clear()
    registry.reset_providers()


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs are enqueued after commit; these tests look at rows, not at the worker."""
    from studio.jobs import dispatch

    monkeypatch.setattr(dispatch, "enqueue", lambda *args, **kwargs: None)


# The browser tests of single screens sign in the same way as the journey.
from tests.browser.conftest import signed_in_page  # noqa: E402, F401
