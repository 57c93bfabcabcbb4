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


def test_sign_up_does_not_reveal_that_an_email_address_is_taken(client: Client) -> None:
    # Addresses are not confirmed and match nothing, so a second account may
    # give the same one; refusing it told anyone which addresses had accounts.
    factories.make_user("first", email="same@example.com")
    response = _signup(client, "second", "SAME@example.com")
    assert response.status_code == 302
    assert get_user_model().objects.filter(username="second").exists()


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


def _wrong(client: Client, username: str = "sam", address: str = "10.0.0.1") -> Any:
    return client.post(
        "/accounts/login/", {"username": username, "password": "nope"}, REMOTE_ADDR=address
    )


def _right(client: Client, username: str = "sam", address: str = "10.0.0.1") -> Any:
    return client.post(
        "/accounts/login/",
        {"username": username, "password": factories.PASSWORD},
        REMOTE_ADDR=address,
    )


def test_wrong_passwords_lock_the_account_and_then_the_right_one_is_refused(
    client: Client, settings: Any
) -> None:
    factories.make_user("sam")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _wrong(client)
    response = _right(client)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "15 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_account_lock_holds_from_another_address(client: Client, settings: Any) -> None:
    factories.make_user("sam")
    for i in range(settings.AXES_FAILURE_LIMIT):
        _wrong(client, address=f"10.0.1.{i}")
    assert _right(Client(), address="10.9.9.9").status_code == 429


def test_one_address_guessing_many_accounts_is_locked_too(client: Client, settings: Any) -> None:
    for i in range(settings.AXES_FAILURE_LIMIT):
        factories.make_user(f"user{i}")
        _wrong(client, username=f"user{i}", address="10.0.2.2")
    factories.make_user("sam")
    assert _right(Client(), address="10.0.2.2").status_code == 429
    assert _right(Client(), address="10.0.3.3").status_code == 302


def test_the_lockout_expires(client: Client, settings: Any) -> None:
    from datetime import timedelta

    from axes.models import AccessAttempt
    from django.db.models import F

    factories.make_user("sam")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _wrong(client)
    assert _right(client).status_code == 429
    # As if the lockout time had passed since the last failure.
    past = settings.AXES_COOLOFF_TIME + timedelta(seconds=5)
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - past)
    assert _right(client).status_code == 302


def test_a_right_password_before_the_limit_clears_the_count(client: Client, settings: Any) -> None:
    factories.make_user("sam")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _wrong(client)
    assert _right(client).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _wrong(client)
    assert _right(client).status_code == 302


def test_sign_up_refuses_a_username_that_looks_like_an_email(client: Client) -> None:
    response = _signup(client, "victim@example.com", "attacker@example.com")
    assert response.status_code == 200
    assert "cannot contain @" in response.content.decode()
    assert not get_user_model().objects.filter(username="victim@example.com").exists()


def test_first_account_name_comes_from_the_setting(
    capsys: Any, monkeypatch: Any, settings: Any
) -> None:
    from django.core.management import call_command

    monkeypatch.delenv("STUDIO_ADMIN_PASSWORD", raising=False)
    settings.STUDIO_ADMIN_USERNAME = "operator"
    call_command("ensure_admin")
    assert "username: operator" in capsys.readouterr().out
    assert get_user_model().objects.get().username == "operator"


@pytest.mark.parametrize("weak", ["admin", "12345678", "password", "short"])
def test_a_weak_first_account_password_is_refused(monkeypatch: Any, weak: str) -> None:
    from django.core.management import CommandError, call_command

    monkeypatch.setenv("STUDIO_ADMIN_PASSWORD", weak)
    with pytest.raises(CommandError, match="STUDIO_ADMIN_PASSWORD is refused"):
        call_command("ensure_admin")
    assert not get_user_model().objects.exists()
