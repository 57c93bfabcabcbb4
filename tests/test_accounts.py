from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from studio.models import Membership, Role, Team
from tests import factories

pytestmark = pytest.mark.django_db


def _signup(client: Client, username: str = "newbie", email: str = "newbie@example.com") -> Any:
    return client.post(
        "/accounts/signup/",
        {
            "username": username,
            "email": email,
            "password1": "a-long-unusual-passphrase-42",
            "password2": "a-long-unusual-passphrase-42",
        },
    )


def test_sign_up_creates_a_user_with_a_personal_team_and_signs_them_in(client: Client) -> None:
    response = _signup(client)
    assert response.status_code == 302
    user = get_user_model().objects.get(username="newbie")
    team = Team.objects.get(memberships__user=user)
    assert team.personal
    assert Membership.objects.get(team=team, user=user).role == Role.OWNER
    assert client.get("/projects/").status_code == 200


def test_sign_up_refuses_an_email_that_is_taken(client: Client) -> None:
    factories.make_user("first", email="same@example.com")
    response = _signup(client, "second", "SAME@example.com")
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert not get_user_model().objects.filter(username="second").exists()


def test_sign_up_turned_off_really_refuses(client: Client, settings: Any) -> None:
    settings.STUDIO_SIGNUP = False
    assert client.get("/accounts/signup/").status_code == 404
    assert _signup(client).status_code == 404
    assert not get_user_model().objects.filter(username="newbie").exists()
    assert "Create an account" not in client.get("/accounts/login/").content.decode()


def test_users_made_in_any_way_get_a_personal_team() -> None:
    admin = get_user_model().objects.create_superuser("root", password="x-long-password-1")
    assert Team.objects.filter(personal=True, memberships__user=admin).count() == 1


def test_sign_in_and_sign_out(client: Client) -> None:
    factories.make_user("sam")
    response = client.post("/accounts/login/", {"username": "sam", "password": factories.PASSWORD})
    assert response.status_code == 302
    assert client.get("/projects/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/projects/").status_code == 302


def test_signing_out_ends_the_session_everywhere_its_cookie_was_copied(client: Client) -> None:
    factories.make_user("sam")
    client.post("/accounts/login/", {"username": "sam", "password": factories.PASSWORD})
    elsewhere = Client()
    cookie = settings.SESSION_COOKIE_NAME
    elsewhere.cookies[cookie] = client.cookies[cookie].value
    assert elsewhere.get("/projects/").status_code == 200
    client.post("/accounts/logout/")
    assert elsewhere.get("/projects/").status_code == 302


def test_sign_in_with_a_wrong_password_shows_an_error(client: Client) -> None:
    factories.make_user("sam")
    response = client.post("/accounts/login/", {"username": "sam", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_a_member_changes_their_password_by_giving_the_old_one(client: Client) -> None:
    user = factories.make_user("sam")
    client.force_login(user)
    response = client.post(
        "/accounts/password/",
        {
            "old_password": factories.PASSWORD,
            "new_password1": "another-long-passphrase-77",
            "new_password2": "another-long-passphrase-77",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another-long-passphrase-77")


def test_first_account_command_creates_admin_once(capsys: Any, monkeypatch: Any) -> None:
    from django.core.management import call_command

    monkeypatch.delenv("STUDIO_ADMIN_PASSWORD", raising=False)
    call_command("ensure_admin")
    out = capsys.readouterr().out
    assert "username: admin" in out
    password = out.split("password: ")[1].split()[0]
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password)
    assert Team.objects.filter(personal=True, memberships__user=admin).exists()
    call_command("ensure_admin")
    assert "password:" not in capsys.readouterr().out
    assert get_user_model().objects.count() == 1


def test_first_account_command_takes_the_password_from_the_environment(monkeypatch: Any) -> None:
    from django.core.management import call_command

    monkeypatch.setenv("STUDIO_ADMIN_PASSWORD", "operator-chosen-secret-9")
    call_command("ensure_admin")
    assert get_user_model().objects.get(username="admin").check_password("operator-chosen-secret-9")
