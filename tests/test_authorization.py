"""Who may open what: every Studio URL × every kind of visitor, generated from the URLconf.

The URL list comes from `get_resolver()`, so a new URL that the rule table below
does not classify fails `test_every_url_has_a_rule`. Each URL's parameters are
filled from one scenario (a team with an owner, an editor and a viewer; an
outsider with a team of their own; staff; a suspended user; the owner of a
suspended team), built once for the module; every request runs in a savepoint
that is rolled back, so one role's POST cannot change what the next one sees.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from studio.models import BlocklistHit, Invitation, Mask, Membership, Role, Team, VideoKind
from studio.services import scenes, sharing
from studio.services.signing import signed_reference_token
from tests import factories

# The admin has its own sign-in and staff checks (tests/test_admin.py); static files are
# served by WhiteNoise/the web server, not by a Studio view.
SKIPPED_PREFIXES = ("admin/", "static/")

ROLES = (
    "anonymous",
    "suspended",
    "outsider",
    "viewer",
    "editor",
    "owner",
    "staff",
    "suspended_team",
)


def studio_patterns(
    resolver: URLResolver | None = None, prefix: str = ""
) -> Iterator[tuple[str, URLPattern]]:
    """Every (route, pattern) under the root URLconf, walking includes recursively."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(SKIPPED_PREFIXES):
            continue
        if isinstance(entry, URLResolver):
            yield from studio_patterns(entry, route)
        else:
            yield route, entry


def url_names() -> list[str]:
    return sorted({p.name for _, p in studio_patterns() if p.name})


@dataclass
class Side:
    """One team's objects, by the URL keyword that names them."""

    kwargs: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    users: dict[str, User]
    main: Side
    suspended: Side

    def path(self, name: str, role: str) -> str:
        side = self.suspended if role == "suspended_team" else self.main
        route = next(r for r, p in studio_patterns() if p.name == name)
        wanted = re.findall(r"<(?:\w+:)?(\w+)>", route)
        kwargs = {k: side.kwargs[k] for k in wanted if k != "token"}
        if "token" in wanted:
            kwargs["token"] = side.tokens[TOKEN_OF.get(name, "")]
        return reverse(name, kwargs=kwargs)


TOKEN_OF = {
    "signed_reference": "signed",
    "shared_page": "share",
    "shared_file": "share",
    "shared_poster": "share",
    "invitation_detail": "invitation",
    "invitation_accept": "invitation",
    "invitation_decline": "invitation",
}


def build_side(team: Team, owner: User, editor: User, invitee: User) -> Side:
    project = factories.make_project(team, "Launch film", owner)
    video = factories.make_output(project, owner)
    factories.make_output(project, owner, kind=VideoKind.VIDEO, parent=video)
    image = factories.make_reference(team)
    mask = Mask(team=team, video=video, width=160, height=90, coverage=0.1, created_by=owner)
    mask.file.save("m.png", ContentFile(factories.mask_jpeg(160, 90)), save=False)
    mask.save()
    scene = scenes.create_scene(project, owner, "Opening")
    shot = scenes.add_shot(scene, video)
    invitation = Invitation.objects.create(
        team=team,
        role=Role.VIEWER,
        username=invitee.username,
        invitee=invitee,
        invited_by=owner,
        expires_at=timezone.now() + timedelta(days=7),
    )
    link = sharing.share_video(video, owner)
    hit = BlocklistHit.objects.create(team=team, user=owner, prompt_text="x", matched="x")
    member = Membership.objects.get(team=team, user=editor)
    return Side(
        kwargs={
            "team_id": str(team.public_id),
            "project_id": str(project.public_id),
            "job_id": str(video.job.public_id),
            "video_id": str(video.public_id),
            "image_id": str(image.public_id),
            "mask_id": str(mask.public_id),
            "scene_id": str(scene.public_id),
            "shot_id": str(shot.public_id),
            "invitation_id": str(invitation.public_id),
            "member_id": str(member.public_id),
            "hit_id": str(hit.public_id),
            "username": invitee.username,
        },
        tokens={
            "signed": signed_reference_token(image),
            "share": link.token,
            "invitation": invitation.token,
        },
    )


def build_world() -> World:
    owner = factories.make_user("olivia")
    team = factories.make_team(owner, name="Acme Films")
    editor = factories.add_member(team, factories.make_user("eddie"), Role.EDITOR)
    viewer = factories.add_member(team, factories.make_user("vera"), Role.VIEWER)
    suspended = factories.add_member(team, factories.make_user("sam"), Role.EDITOR)
    outsider = factories.make_user("oscar")
    factories.make_project(factories.personal_team(outsider), "Oscar's secret")
    staff = factories.make_user("stella", is_staff=True)
    main = build_side(team, owner, editor, outsider)
    banned_owner = factories.make_user("bruno")
    banned_team = factories.make_team(banned_owner, name="Banned Films")
    banned_editor = factories.add_member(banned_team, factories.make_user("bea"), Role.EDITOR)
    banned = build_side(banned_team, banned_owner, banned_editor, outsider)
    Team.objects.filter(pk=banned_team.pk).update(suspended_at=timezone.now())
    User.objects.filter(pk=suspended.pk).update(is_active=False)
    users = {
        "outsider": outsider,
        "viewer": viewer,
        "editor": editor,
        "owner": owner,
        "staff": staff,
        "suspended": suspended,
        "suspended_team": banned_owner,
    }
    return World(users=users, main=main, suspended=banned)


@pytest.fixture(scope="module")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("authz-media")


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, media_root: Path) -> None:
    # One media directory for the module: the scenario's files are made once.
    settings.MEDIA_ROOT = str(media_root)


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any, media_root: Path) -> Iterator[World]:
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=str(media_root)),
        transaction.atomic(),
    ):
        yield build_world()
        transaction.set_rollback(True)


def client_for(world: World, role: str, **options: Any) -> Client:
    client = Client(raise_request_exception=False, **options)
    if role != "anonymous":
        client.force_login(world.users[role], backend="django.contrib.auth.backends.ModelBackend")
    return client


def send(client: Client, method: str, path: str, **headers: str) -> HttpResponse:
    """One request in a savepoint that is rolled back afterwards."""
    with transaction.atomic():
        response = client.generic(method, path, headers=headers)
        if response.streaming:
            # The test client closes a file response (and its file) once it is read.
            b"".join(response.streaming_content)  # type: ignore[attr-defined]
        transaction.set_rollback(True)
    return response


# -- The rule table ---------------------------------------------------------------------------
#
# An expectation per role: a status code, LOGIN (302 to the sign-in page) or OK (the request
# got past every check: a page, a redirect after the action, or the action's own refusal of
# an empty form). Anonymous visitors and suspended users (their session no longer loads) are
# sent to sign in on every private URL. "suspended_team" is the owner of a suspended team,
# asking for that team's objects.

LOGIN = "login"
OK = "ok"
OK_STATUSES = {200, 204, 302, 409}
Expect = dict[str, int | str]

SIGNED_IN = ("outsider", "viewer", "editor", "owner", "staff", "suspended_team")
MEMBERS = ("viewer", "editor", "owner", "suspended_team")


def expect(default: int | str, **roles: int | str) -> Expect:
    table: Expect = {"anonymous": LOGIN, "suspended": LOGIN}
    table.update(dict.fromkeys(SIGNED_IN, default))
    table.update(roles)
    return table


NOT_ALLOWED = expect(405)
# Any signed-in account, about its own teams.
PAGE = (expect(200), NOT_ALLOWED)
FORM_PAGE = (expect(200), expect(OK))
# Read pages of one team: members see them (a suspended team's members too, to read why);
# another team's id is indistinguishable from one that does not exist.
MEMBER_READ = expect(200, outsider=404, staff=404)
MEMBER_PAGE = (MEMBER_READ, NOT_ALLOWED)
# Media: staff see any for moderation; a suspended team plays none.
MEDIA = (expect(200, outsider=404, suspended_team=403), NOT_ALLOWED)
# Editors and owners change things; viewers and a suspended team cannot.
EDIT_POST = expect(OK, outsider=404, staff=404, viewer=403, suspended_team=403)
EDIT = (NOT_ALLOWED, EDIT_POST)
EDIT_PAGE = (expect(200, outsider=404, staff=404, viewer=403, suspended_team=403), EDIT_POST)
# Any member, suspended team or not: personal marks, reports, leaving.
MEMBER_ACTION = (NOT_ALLOWED, expect(OK, outsider=404, staff=404))
# Taking something back (a share link) stays open to a suspended team's editors.
EDIT_UNSUSPENDED = (NOT_ALLOWED, expect(OK, outsider=404, staff=404, viewer=403))
# Membership, invitations and budgets: owners only (a suspension does not lock them out).
OWNER = (NOT_ALLOWED, expect(OK, outsider=404, staff=404, viewer=403, editor=403))
STAFF = (NOT_ALLOWED, expect(403, staff=OK))
# An invitation by username: only the invited account (the outsider) can see or answer it.
INVITEE = (expect(404, outsider=200), NOT_ALLOWED)
INVITEE_ACTION = (NOT_ALLOWED, expect(404, outsider=OK))


def public(get: int | str, **roles: int | str) -> tuple[Expect, Expect]:
    """Public by design: the same for every visitor, signed in or not."""
    everyone = dict.fromkeys(ROLES, get)
    return everyone | roles, dict.fromkeys(ROLES, 405)


# Share links and signed links of a suspended team's video.
SHARED = public(200, suspended_team=404)

RULES: dict[str, tuple[Expect, Expect]] = {
    # Public
    "healthz": public(503),  # no worker heartbeat in the test database
    "signed_reference": public(200),
    "shared_page": SHARED,
    "shared_file": SHARED,
    "shared_poster": SHARED,
    "login": (
        {**dict.fromkeys(SIGNED_IN, 302), "anonymous": 200, "suspended": 200},
        {**dict.fromkeys(SIGNED_IN, 302), "anonymous": 200, "suspended": 200},
    ),
    "signup": (  # a signed-in account is sent on to its projects
        {**dict.fromkeys(SIGNED_IN, 302), "anonymous": 200, "suspended": 200},
        {**dict.fromkeys(SIGNED_IN, 302), "anonymous": 200, "suspended": 200},
    ),
    "logout": (NOT_ALLOWED, expect(LOGIN)),
    # Signed-in pages
    "home": (expect(302), expect(302)),
    "gallery": PAGE,
    "queue": PAGE,
    "job_updates": (expect(204), NOT_ALLOWED),
    "audit_log": PAGE,  # owners see their teams' events, staff all, others an empty list
    "password_change_done": PAGE,
    "password_change": FORM_PAGE,
    "library": FORM_PAGE,  # POST uploads into the current team (tested below for suspension)
    "project_list": FORM_PAGE,
    "team_list": FORM_PAGE,
    "team_switch": (NOT_ALLOWED, expect(404)),  # an empty form names no team of the user's
    # One team's read pages (project and team pages ignore a POST and render)
    "project_detail": (MEMBER_READ, MEMBER_READ),
    "team_detail": (MEMBER_READ, MEMBER_READ),
    "project_gallery": MEMBER_PAGE,
    "job_detail": MEMBER_PAGE,
    "video_detail": MEMBER_PAGE,
    "scene_detail": MEMBER_PAGE,
    "team_ledger": MEMBER_PAGE,
    "team_ledger_csv": MEMBER_PAGE,
    # Media
    "media_video": MEDIA,
    "media_poster": MEDIA,
    "media_thumbnail": MEDIA,
    "media_reference": MEDIA,
    "media_reference_thumb": MEDIA,
    # A mask is not needed to judge a video: staff get no special access to it.
    "media_mask": (expect(200, outsider=404, staff=404, suspended_team=403), NOT_ALLOWED),
    # Editors' actions
    "generate": EDIT,
    "job_cancel": EDIT,
    "job_retry": EDIT,
    "job_resubmit": EDIT,
    "job_mark_failed": EDIT,
    "project_rename": EDIT,
    "project_archive": EDIT,
    "project_export": EDIT,
    "project_restore": EDIT,
    "reference_delete": EDIT,
    "video_rerun": EDIT,
    "video_frame": EDIT,
    "video_upscale": EDIT,
    "video_gif": EDIT,
    "video_extend": EDIT,
    "video_reshoot": EDIT,
    "video_add_to_scene": EDIT,
    "share_create": EDIT,
    "scene_create": EDIT,
    "scene_add_shot": EDIT,
    "scene_reorder": EDIT,
    "scene_crossfade": EDIT,
    "scene_export": EDIT,
    "shot_move": EDIT,
    "shot_trim": EDIT,
    "shot_remove": EDIT,
    "shot_jump": EDIT,
    "shot_extend": EDIT,
    "painter": EDIT_PAGE,
    "video_insert": EDIT_PAGE,
    "share_revoke": EDIT_UNSUSPENDED,
    # Any member
    "video_favourite": MEMBER_ACTION,
    "video_report": MEMBER_ACTION,
    "team_leave": MEMBER_ACTION,
    # Owners
    "invitation_create": OWNER,
    "invitation_revoke": OWNER,
    "member_role": OWNER,
    "member_remove": OWNER,
    "team_budget": OWNER,
    "project_import": OWNER,  # a suspended team's owner is told no in a message (302)
    # The invited account
    "invitation_detail": INVITEE,
    "invitation_accept": INVITEE_ACTION,
    "invitation_decline": INVITEE_ACTION,
    # Staff
    "review_queue": (expect(403, staff=200), NOT_ALLOWED),
    "moderation_video_hide": STAFF,
    "moderation_video_restore": STAFF,
    "moderation_reports_dismiss": STAFF,
    # The scenario's job succeeded: only a job the safety filter blocked can be dismissed.
    "moderation_job_dismiss": (NOT_ALLOWED, expect(403, staff=404)),
    "moderation_hit_dismiss": STAFF,
    "moderation_user_suspend": STAFF,
    "moderation_user_unsuspend": STAFF,
    "moderation_team_suspend": STAFF,
    "moderation_team_unsuspend": STAFF,
    "moderation_rule_add": STAFF,
    "moderation_rule_off": STAFF,
}


def outcome(response: HttpResponse) -> int | str:
    if response.status_code == 302 and response["Location"].startswith(reverse("login")):
        return LOGIN
    return response.status_code


def matches(expected: int | str, got: int | str) -> bool:
    if expected == OK:
        return got in OK_STATUSES
    return expected == got


# -- The tests --------------------------------------------------------------------------------


def test_every_url_has_a_rule() -> None:
    """A new URL must be classified here before it can ship."""
    names = set(url_names())
    assert names - set(RULES) == set(), "URLs without an authorization rule"
    assert set(RULES) - names == set(), "rules for URLs that no longer exist"
    assert all(p.name for _, p in studio_patterns()), "every Studio URL has a name"


def test_every_role_appears_in_every_rule() -> None:
    for name, (get, post) in RULES.items():
        assert set(get) == set(ROLES) == set(post), name


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(RULES))
def test_each_role_gets_the_expected_status_for_get_and_post(world: World, name: str) -> None:
    wrong = []
    for method, table in zip(("GET", "POST"), RULES[name], strict=True):
        for role in ROLES:
            got = outcome(send(client_for(world, role), method, world.path(name, role)))
            if not matches(table[role], got):
                wrong.append(f"{method} as {role}: expected {table[role]}, got {got}")
    assert not wrong, f"{name}: " + "; ".join(wrong)


# -- What tests/test_url_access.py checked, kept ------------------------------------------------

PUBLIC_NAMES = {
    "login",
    "signup",
    "healthz",
    "signed_reference",
    "shared_page",
    "shared_file",
    "shared_poster",
}


def test_the_url_inventory_is_not_empty() -> None:
    assert len(url_names()) >= 10


def test_every_private_url_sends_anonymous_visitors_and_suspended_users_to_sign_in() -> None:
    # The table says so for every URL but the public ones; the parametrised test checks the table.
    assert set(url_names()) >= PUBLIC_NAMES, PUBLIC_NAMES - set(url_names())
    for name, (get, post) in RULES.items():
        if name in PUBLIC_NAMES:
            assert get["anonymous"] != LOGIN, name
            continue
        for table in (get, post):
            assert table["anonymous"] == table["suspended"] == LOGIN, name


def test_admin_is_behind_its_own_sign_in(client: Client) -> None:
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


# -- CSRF on every state change -----------------------------------------------------------------

# Every URL that takes a POST, with a role the rules let through (signing out answers every
# signed-in account with a redirect to the sign-in page).
REFUSALS = (LOGIN, 403, 404, 405)
POSTABLE = sorted(
    {name for name, (_, post) in RULES.items() if set(post.values()) - set(REFUSALS)} | {"logout"}
)


def allowed_role(name: str) -> str:
    post = RULES[name][1]
    return next((role for role in ROLES if post[role] not in REFUSALS), "owner")


def test_every_url_that_takes_a_post_has_a_role_that_may_send_it() -> None:
    assert len(POSTABLE) >= 40
    for name in POSTABLE:
        assert allowed_role(name)


@pytest.mark.django_db
@pytest.mark.parametrize("name", POSTABLE)
def test_a_post_without_a_csrf_token_is_refused_also_from_htmx(world: World, name: str) -> None:
    role = allowed_role(name)
    path = world.path(name, role)
    plain = send(client_for(world, role, enforce_csrf_checks=True), "POST", path)
    htmx = send(client_for(world, role, enforce_csrf_checks=True), "POST", path, HX_Request="true")
    assert (plain.status_code, htmx.status_code) == (403, 403), name
    assert b"CSRF" in plain.content

    client = client_for(world, role, enforce_csrf_checks=True)
    secret = "k" * 32  # an unmasked secret of the cookie's length is accepted as the token
    client.cookies[settings.CSRF_COOKIE_NAME] = secret
    with_token = send(client, "POST", path, HX_Request="true", X_CSRFToken=secret)
    assert matches(RULES[name][1][role], outcome(with_token)), (name, with_token.status_code)


# -- Suspensions ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_suspended_user_cannot_sign_in_with_the_right_password(world: World) -> None:
    client = Client()
    response = client.post(reverse("login"), {"username": "sam", "password": factories.PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    # The same password works for an account that is not suspended.
    response = client.post(reverse("login"), {"username": "eddie", "password": factories.PASSWORD})
    assert response.status_code == 302


@pytest.mark.django_db
def test_a_suspended_teams_member_cannot_upload_submit_or_play_media(world: World) -> None:
    side = world.suspended
    client = client_for(world, "suspended_team")
    client.post(reverse("team_switch"), {"team": side.kwargs["team_id"]})
    upload = client.post(reverse("library"), {"images": factories.upload("frame.png")})
    assert upload.status_code == 403
    generate = client.post(
        reverse("generate", kwargs={"project_id": side.kwargs["project_id"]}),
        {"provider": "local", "model": "draft", "prompt_text": "A harbour", "mode": "text2video"},
    )
    assert generate.status_code == 403
    media = client.get(reverse("media_video", kwargs={"video_id": side.kwargs["video_id"]}))
    assert media.status_code == 403
    assert b"suspended" in upload.content + generate.content + media.content
