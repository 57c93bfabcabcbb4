"""The audit trail: one append-only row per state-changing action.

`record(request_or_actor, action, obj, **details)` is the only writer. It takes
the request when there is one (for the actor and the client address) or just
the acting user (the worker, management commands, signals without a request).
The object is stored as its type and public id, never its sequential key, so
an export can be shared without leaking row counts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import HttpRequest

from studio.models import AuditEvent, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

MAX_DETAIL_CHARS = 2000


def client_address(request: Any) -> str | None:
    """The client's address, for the audit trail and the sign-in limits (django-axes).

    Behind Studio's proxy (`STUDIO_BEHIND_PROXY`) the client is the last address
    the proxy appended to X-Forwarded-For; earlier entries are whatever the
    client sent and cannot be trusted. Otherwise it is the connection's address.
    """
    meta = getattr(request, "META", {})
    if settings.STUDIO_BEHIND_PROXY:
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded and forwarded[-1]:
            return str(forwarded[-1])
    address = meta.get("REMOTE_ADDR") or ""
    return str(address) or None


def _team_of(obj: Any) -> Team | None:
    if isinstance(obj, Team):
        return obj
    team = getattr(obj, "team", None)
    return team if isinstance(team, Team) else None


def _object_id(obj: Any) -> str:
    if obj is None:
        return ""
    for attr in ("public_id", "username"):
        value = getattr(obj, attr, None)
        if value:
            return str(value)
    return ""


def _clean(details: dict[str, Any]) -> dict[str, Any]:
    # Details are for people reading the trail: keep them JSON and short.
    out: dict[str, Any] = {}
    for key, value in details.items():
        if value is None or isinstance(value, bool | int | float):
            out[key] = value
        else:
            out[key] = str(value)[:MAX_DETAIL_CHARS]
    return out


def record(
    request_or_actor: HttpRequest | AbstractBaseUser | AnonymousUser | None,
    action: str,
    obj: Any = None,
    *,
    team: Team | None = None,
    **details: Any,
) -> AuditEvent:
    request = request_or_actor if isinstance(request_or_actor, HttpRequest) else None
    actor: Any = getattr(request, "user", None) if request is not None else request_or_actor
    if not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "",
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=_object_id(obj),
        team=team or _team_of(obj),
        client_address=client_address(request) if request is not None else None,
        details=_clean(details),
    )


@dataclass
class AuditFilter:
    action: str = ""
    actor: str = ""
    date_from: date | None = None
    date_to: date | None = None


def events_for(teams: Iterable[Team] | None, flt: AuditFilter) -> QuerySet[AuditEvent]:
    """The events someone may read: `teams=None` means all of them (staff)."""
    events = AuditEvent.objects.select_related("team")
    if teams is not None:
        events = events.filter(team__in=list(teams))
    if flt.action:
        events = events.filter(action=flt.action)
    if flt.actor:
        events = events.filter(actor_name=flt.actor)
    if flt.date_from:
        events = events.filter(created_at__date__gte=flt.date_from)
    if flt.date_to:
        events = events.filter(created_at__date__lte=flt.date_to)
    return events.order_by("-created_at", "-id")


CSV_COLUMNS = ["when", "actor", "action", "object_type", "object_id", "team", "address", "details"]


def _cell(value: str) -> str:
    # A cell that starts like a formula runs in a spreadsheet: quote it.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def to_csv(events: Iterable[AuditEvent]) -> Iterable[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    for event in events:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(
            _cell(str(v))
            for v in (
                event.created_at.isoformat(),
                event.actor_name,
                event.action,
                event.object_type,
                event.object_id,
                event.team.name if event.team else "",
                event.client_address or "",
                DjangoJSONEncoder().encode(event.details),
            )
        )
        yield buffer.getvalue()
