"""The generate form's rules live on the server: a change of mode, provider or
model asks for the form again, and the answer offers what the new choice can do."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import pytest

from studio.forms.generate import GenerateForm, capabilities, select
from studio.models import Job, Prompt
from studio.presenters import credit_words
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def _url(cast: Cast) -> str:
    return f"/projects/{cast.project.public_id}/generate/"


def _refresh(cast: Cast, htmx: bool = True, **values: Any) -> Any:
    data = {"refresh": "1", "idempotency_key": str(uuid.uuid4()), **values}
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return cast.client_for(cast.editor).post(_url(cast), data, **headers)


def _options(page: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select is not None, f"no {name} select"
    return re.findall(r'<option value="([^"]*)"', select.group(1))


def _selected(page: str, name: str) -> str:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select is not None
    found = re.search(r'<option value="([^"]*)"[^>]*selected', select.group(1))
    return found.group(1) if found else ""


def test_a_refresh_with_another_model_offers_its_options_and_cost_and_keeps_the_prompt(
    cast: Cast,
) -> None:
    key = str(uuid.uuid4())
    response = _refresh(
        cast,
        mode="text2video",
        provider="gateway",
        model="veo-fast",
        prompt="A red kite over green hills",
        duration_seconds="8",
        seed="7",
        idempotency_key=key,
    )
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert page.lstrip().startswith('<form id="generate-form"')
    assert _options(page, "model") == ["veo-fast"]
    # Veo Fast sets the length itself: one disabled choice, said in one wording.
    assert re.search(r'<select name="duration_seconds" disabled', page)
    assert _options(page, "duration_seconds") == [""]
    assert "Set by the model" in page and "This model sets the length itself." in page
    assert "Model default" not in page
    assert "<strong data-estimate>40 credits</strong>" in page
    assert "(free, rendered on this server)" not in page
    assert "One start frame, no end frame." in page
    assert "From words alone" in page  # each mode says what it needs
    assert ">A red kite over green hills</textarea>" in page
    assert 'name="seed"' not in page  # the gateway drops seeds: none is offered
    assert f'name="idempotency_key" value="{key}"' in page
    assert "errorlist" not in page and 'role="alert"' not in page
    assert Job.objects.count() == 0 and Prompt.objects.count() == 0


def test_a_refresh_back_to_the_local_engine_offers_its_lengths_and_says_it_is_free(
    cast: Cast,
) -> None:
    response = _refresh(cast, mode="text2video", provider="local", model="veo-fast")
    page = html.unescape(response.content.decode())
    # A model of another provider falls back to this provider's model.
    assert _options(page, "model") == ["draft"]
    assert _options(page, "duration_seconds") == ["4", "6", "8"]
    assert _selected(page, "duration_seconds") == "8"
    assert "<strong data-estimate>0 credits</strong>" in page
    assert "(free, rendered on this server)" in page


def test_a_refresh_shows_only_the_image_slots_the_mode_and_model_take(cast: Cast) -> None:
    text = html.unescape(_refresh(cast, mode="text2video").content.decode())
    assert 'name="start_image"' not in text and 'name="ingredient_1"' not in text

    one_frame = _refresh(cast, mode="img2video", provider="gateway", model="veo-fast")
    page = html.unescape(one_frame.content.decode())
    assert 'name="start_image"' in page and 'name="end_image"' not in page
    assert re.search(r"Start frame <small[^>]*>required</small>", page)

    two_frames = _refresh(cast, mode="img2video", provider="local", model="draft")
    page = html.unescape(two_frames.content.decode())
    assert re.search(r"End frame <small[^>]*>optional</small>", page)

    ingredients = _refresh(cast, mode="ingredients2video", provider="gateway", model="veo-fast")
    page = html.unescape(ingredients.content.decode())
    # Veo Fast cannot do ingredients: the gateway's ingredients model is chosen.
    assert _options(page, "model") == ["veo-ingredients"]
    assert "<strong data-estimate>45 credits</strong>" in page
    assert 'name="ingredient_3"' in page and 'name="start_image"' not in page


def test_a_refresh_keeps_a_ratio_the_new_model_has_and_replaces_one_it_lacks(cast: Cast) -> None:
    kept = _refresh(cast, mode="img2video", provider="local", aspect_ratio="9:16")
    assert re.search(r'value="9:16"[^>]*checked', kept.content.decode())
    replaced = _refresh(cast, mode="ingredients2video", provider="gateway", aspect_ratio="9:16")
    page = replaced.content.decode()
    assert re.search(r'value="16:9"[^>]*checked', page)
    assert re.search(r'value="9:16"[^>]*disabled', page)  # listed, not choosable


def test_a_refresh_with_an_empty_prompt_or_a_bad_key_shows_no_error(cast: Cast) -> None:
    response = _refresh(cast, prompt="", idempotency_key="not-a-key", seed="-4")
    page = response.content.decode()
    assert "errorlist" not in page and "Describe the video you want." not in page
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert key is not None and uuid.UUID(key.group(1))  # a fresh, valid key
    assert Job.objects.count() == 0


def test_without_javascript_a_refresh_renders_the_whole_page(cast: Cast) -> None:
    response = _refresh(cast, htmx=False, mode="text2video", provider="local", prompt="Dunes")
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" in page and ">Dunes</textarea>" in page
    assert "<strong data-estimate>0 credits</strong>" in page
    assert 'name="refresh" value="1"' in page  # the no-JS button that asks for it
    assert Job.objects.count() == 0


def test_viewer_and_outsider_cannot_refresh_the_form(cast: Cast) -> None:
    data = {"refresh": "1", "mode": "text2video"}
    assert cast.client_for(cast.viewer).post(_url(cast), data).status_code == 403
    assert cast.client_for(cast.outsider).post(_url(cast), data).status_code == 404


def test_a_posted_form_with_errors_still_offers_only_the_chosen_models_options(
    cast: Cast,
) -> None:
    response = cast.client_for(cast.editor).post(
        _url(cast),
        {
            "mode": "text2video",
            "provider": "gateway",
            "model": "veo-fast",
            "prompt": "",
            "aspect_ratio": "16:9",
            "idempotency_key": str(uuid.uuid4()),
        },
        HTTP_HX_REQUEST="true",
    )
    page = html.unescape(response.content.decode())
    assert "Describe the video you want." in page
    assert _options(page, "model") == ["veo-fast"]
    assert "<strong data-estimate>40 credits</strong>" in page


def test_the_selection_falls_back_to_a_provider_that_has_the_mode(cast: Cast) -> None:
    caps = capabilities()
    chosen = select(caps, {"mode": "ingredients2video", "provider": "local", "model": "x"})
    assert chosen is not None
    assert (chosen.provider["name"], chosen.spec["name"]) == ("local", "draft")
    assert chosen.images == (1, 3) and chosen.duration == 8 and chosen.free
    only_gateway = {
        **caps,
        "providers": [
            {**p, "models": [m for m in p["models"] if m["name"] != "draft"]}
            if p["name"] == "local"
            else p
            for p in caps["providers"]
        ],
    }
    moved = select(only_gateway, {"mode": "text2video", "provider": "local"})
    assert moved is not None and moved.provider["name"] == "gateway"
    assert select({**caps, "modes": []}, {}) is None


def test_a_provider_without_the_mode_is_listed_but_not_choosable(cast: Cast) -> None:
    caps = capabilities()
    caps["providers"] = [
        {**p, "models": [{**m, "modes": ["text2video"]} for m in p["models"]]}
        if p["name"] == "local"
        else p
        for p in caps["providers"]
    ]
    form = GenerateForm(cast.project, initial={"mode": "ingredients2video"}, caps=caps)
    provider = str(form["provider"])
    assert '<option value="local" disabled>' in provider
    assert '<option value="gateway" selected>' in provider


def test_credit_words_count_credits() -> None:
    assert [credit_words(n) for n in (0, 1, 40)] == ["0 credits", "1 credit", "40 credits"]
