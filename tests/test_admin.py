from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def test_every_studio_model_has_a_working_admin_list_with_search(cast: Cast) -> None:
    superuser = get_user_model().objects.create_superuser("root", password="x-long-password-1")
    client = Client()
    client.force_login(superuser)
    studio_models = list(apps.get_app_config("studio").get_models())
    unregistered = [m.__name__ for m in studio_models if m not in admin.site._registry]
    assert not unregistered
    for model in studio_models:
        url = f"/admin/studio/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url
        assert client.get(url, {"q": "launch"}).status_code == 200, url
