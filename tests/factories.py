"""Hand-written builders for test data (no factory library)."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from studio.models import Membership, Project, Role, Team

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def make_user(username: str | None = None, **extra: Any) -> User:
    username = username or f"user{next(_counter)}"
    extra.setdefault("email", f"{username}@example.com")
    user: User = get_user_model().objects.create_user(username, password=PASSWORD, **extra)
    return user


def personal_team(user: User) -> Team:
    return Team.objects.get(personal=True, memberships__user=user)


def make_team(owner: User | None = None, name: str | None = None) -> Team:
    owner = owner or make_user()
    team = Team.objects.create(name=name or f"Team {next(_counter)}")
    Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    return team


def add_member(team: Team, user: User | None = None, role: str = Role.EDITOR) -> User:
    user = user or make_user()
    Membership.objects.create(team=team, user=user, role=role)
    return user


def make_project(team: Team, name: str | None = None, user: User | None = None) -> Project:
    return Project.objects.create(
        team=team, name=name or f"Project {next(_counter)}", created_by=user
    )
