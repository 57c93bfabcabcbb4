"""Django's model backend, loading the signed-in user with one plain SELECT.

`get_user` runs on every signed-in request (job cards poll every two seconds);
`studio.db.fetch_row` skips the ORM's query building, which costs several
times the query itself here. Sign-in, permissions and `is_active` stay Django's.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.core.exceptions import ValidationError
from django.db import connections, router

from studio import db

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@cache
def _user_sql(alias: str) -> str:
    user_model = get_user_model()
    quote = connections[alias].ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in user_model._meta.concrete_fields)
    pk = user_model._meta.pk
    assert pk is not None
    return f"SELECT {columns} FROM {db.table(user_model, alias)} WHERE {quote(str(pk.column))} = %s"


class ModelBackend(DjangoModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        user_model = get_user_model()
        meta = user_model._meta
        assert meta.pk is not None
        try:
            pk = meta.pk.to_python(user_id)
        except ValidationError:
            return None
        alias = router.db_for_read(user_model)
        fields = meta.concrete_fields
        row = db.fetch_row(_user_sql(alias), [pk], fields, alias)
        if row is None:
            return None
        user = user_model.from_db(alias, [f.attname for f in fields], row)
        return user if self.user_can_authenticate(user) else None
