"""Every URL needs a signed-in user, except the few that are public by design."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# Public by design: sign-in, sign-up, health, and signed reference links (which
# carry their own expiring signature).
PUBLIC_NAMES = {
    "login",
    "signup",
    "healthz",
    "signed_reference",
    # View-only share links: the unguessable token is the key (tests/test_share_links.py).
    "shared_page",
    "shared_file",
    "shared_poster",
}


def _studio_patterns(
    resolver: URLResolver | None = None, prefix: str = ""
) -> Iterator[tuple[str, URLPattern]]:
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if str(entry.pattern).startswith("admin/"):
                continue
            yield from _studio_patterns(entry, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


def _example_path(route: str) -> str:
    path = route
    while "<" in path:
        start = path.index("<")
        end = path.index(">", start)
        converter = path[start + 1 : end].split(":")[0]
        value = {"uuid": str(uuid.uuid4()), "int": "1", "slug": "x"}.get(converter, "x")
        path = path[:start] + value + path[end + 1 :]
    return "/" + path.lstrip("^").rstrip("$")


def _private_routes() -> list[str]:
    return sorted(
        {_example_path(route) for route, p in _studio_patterns() if p.name not in PUBLIC_NAMES}
    )


def test_the_url_inventory_is_not_empty() -> None:
    assert len(_private_routes()) >= 10


def test_every_public_exemption_names_a_real_route() -> None:
    names = {p.name for _, p in _studio_patterns()}
    assert names >= PUBLIC_NAMES, PUBLIC_NAMES - names


@pytest.mark.parametrize("path", _private_routes())
def test_anonymous_user_is_sent_to_sign_in_for_every_private_url(client: Client, path: str) -> None:
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 302, (path, response.status_code)
        assert response["Location"].startswith("/accounts/login/"), path


def test_admin_is_behind_its_own_sign_in(client: Client) -> None:
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
