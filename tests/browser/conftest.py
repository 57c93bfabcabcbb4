from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page

from tests import factories


@pytest.fixture
def signed_in_page(page: Page, live_server: Any, db: Any) -> Iterator[tuple[Page, Any]]:
    """A browser page signed in as a fresh user, through the real sign-in form."""
    user = factories.make_user("cleo")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("cleo")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/projects/")
    yield page, user
