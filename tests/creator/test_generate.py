from __future__ import annotations

import html
import re
import uuid
from typing import Any

import pytest

from studio.models import Job, Prompt, ReferenceImage
from studio.services import library
from tests.conftest import Cast
from tests.factories import image_bytes, make_job, upload

pytestmark = pytest.mark.django_db


def _image(team: Any, color: tuple[int, int, int] = (1, 2, 3)) -> ReferenceImage:
    data = image_bytes(color=color)
    return library.store_upload(team, None, upload("x.png", data).file, f"{color}.png").image


def _form(**overrides: Any) -> dict[str, Any]:
    data = {
        "mode": "text2video",
        "provider": "local",
        "model": "draft",
        "prompt": "A red kite over green hills",
        "aspect_ratio": "16:9",
        "duration_seconds": "4",
        "idempotency_key": str(uuid.uuid4()),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _url(cast: Cast) -> str:
    return f"/projects/{cast.project.public_id}/generate/"


def test_project_page_shows_only_enabled_providers_and_the_cost(cast: Cast) -> None:
    page = cast.client_for(cast.editor).get(f"/projects/{cast.project.public_id}/")
    content = page.content.decode()
    assert 'id="generate-form"' in content
    assert "Local engine" in content and "Gateway" in content
    assert "Switched off" not in content
    assert "Estimated cost" in content
    # The rules stay on the server: no copy for a script, the rule fields ask for a re-render.
    assert 'id="generate-caps"' not in content
    refresh_url = f'hx-post="/projects/{cast.project.public_id}/generate/"'
    assert re.search(rf'<select name="model"[^>]*{refresh_url}[^>]*hx-trigger="change"', content)
    # the default route is the first configured gateway
    assert re.search(r'<option value="gateway" selected>', content)
    assert "40 credits" in content


def test_editor_submits_text_to_video_and_the_job_is_stored_in_draft(cast: Cast) -> None:
    client = cast.client_for(cast.editor)
    response = client.post(_url(cast), _form(seed="7"))
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{cast.project.public_id}/#queue"
    assert (job.provider, job.model, job.mode, job.status) == (
        "local",
        "draft",
        "text2video",
        "draft",
    )
    assert job.params["aspect_ratio"] == "16:9" and job.params["duration_seconds"] == 4
    assert job.params["seed"] == 7
    assert job.prompt is not None and job.prompt.text == "A red kite over green hills"
    assert job.created_by == cast.editor


def test_img2video_with_start_and_end_frames(cast: Cast) -> None:
    start, end = _image(cast.team, (1, 1, 1)), _image(cast.team, (2, 2, 2))
    cast.client_for(cast.editor).post(
        _url(cast),
        _form(mode="img2video", start_image=str(start.public_id), end_image=str(end.public_id)),
    )
    job = Job.objects.get()
    assert [(i.image, i.role) for i in job.inputs.all()] == [(start, "start"), (end, "end")]


def test_ingredients_take_up_to_three_images(cast: Cast) -> None:
    images = [_image(cast.team, (i, i, i)) for i in range(3)]
    cast.client_for(cast.editor).post(
        _url(cast),
        _form(
            mode="ingredients2video",
            **{f"ingredient_{n + 1}": str(img.public_id) for n, img in enumerate(images)},
        ),
    )
    job = Job.objects.get()
    assert [i.role for i in job.inputs.all()] == ["ingredient"] * 3


def test_a_double_click_or_a_reposted_form_makes_one_job(cast: Cast) -> None:
    client = cast.client_for(cast.editor)
    data = _form()
    first = client.post(_url(cast), data)
    second = client.post(_url(cast), data)
    htmx = client.post(_url(cast), data, HTTP_HX_REQUEST="true")
    assert Job.objects.count() == 1
    assert first["Location"] == second["Location"]
    assert htmx.status_code == 200
    assert Prompt.objects.count() == 1


def _errors(response: Any) -> str:
    assert response.status_code == 200
    return html.unescape(response.content.decode())


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"provider": "evil"}, "provider", "Choose one of the listed providers."),
        ({"provider": "offline", "model": "x"}, "provider", "Choose one of the listed providers."),
        ({"model": "veo-9000"}, "model", "Choose one of the listed models."),
        ({"mode": "removal"}, "mode", "Choose one of the listed modes."),
        ({"provider": "gateway", "model": "veo-ingredients"}, "model", "cannot do text to video"),
        ({"aspect_ratio": "4:3"}, "aspect_ratio", "Choose one of the listed aspect ratios."),
        ({"duration_seconds": "30"}, "duration_seconds", "Choose one of the listed lengths."),
        ({"provider": "gateway", "model": "veo-fast"}, "duration_seconds", "fixed length"),
        ({"prompt": "   "}, "prompt", "Describe the video you want."),
        ({"prompt": None}, "prompt", "Describe the video you want."),
        ({"mode": "img2video"}, "start_image", "This mode takes 1 to 2 images."),
    ],
)
def test_forged_or_missing_values_get_a_message_next_to_the_field_and_nothing_is_stored(
    cast: Cast, overrides: dict[str, Any], field: str, message: str
) -> None:
    response = cast.client_for(cast.editor).post(_url(cast), _form(**overrides))
    assert message in _errors(response)
    form = response.context["generate_form"]
    assert any(message in e for e in form.errors[field]), form.errors
    assert Job.objects.count() == 0 and Prompt.objects.count() == 0


def test_an_end_frame_for_a_model_that_takes_one_image_is_too_many(cast: Cast) -> None:
    start, end = _image(cast.team, (1, 1, 1)), _image(cast.team, (2, 2, 2))
    response = cast.client_for(cast.editor).post(
        _url(cast),
        _form(
            mode="img2video",
            provider="gateway",
            model="veo-fast",
            duration_seconds="",
            start_image=str(start.public_id),
            end_image=str(end.public_id),
        ),
    )
    assert "This mode takes exactly 1 image." in _errors(response)
    assert Job.objects.count() == 0


def test_images_in_slots_of_another_mode_are_refused(cast: Cast) -> None:
    image = _image(cast.team)
    response = cast.client_for(cast.editor).post(
        _url(cast), _form(start_image=str(image.public_id))
    )
    assert "Start frame is not used in this mode: clear it." in _errors(response)
    assert Job.objects.count() == 0


def test_an_end_frame_alone_asks_for_a_start_frame(cast: Cast) -> None:
    image = _image(cast.team)
    response = cast.client_for(cast.editor).post(
        _url(cast), _form(mode="img2video", end_image=str(image.public_id))
    )
    assert "An end frame needs a start frame." in _errors(response)


def test_someone_elses_reference_image_is_refused(cast: Cast) -> None:
    foreign = _image(cast.outsider_project.team)
    response = cast.client_for(cast.editor).post(
        _url(cast), _form(mode="img2video", start_image=str(foreign.public_id))
    )
    assert "That image is not in this team's library." in _errors(response)
    assert Job.objects.count() == 0
    bogus = cast.client_for(cast.editor).post(
        _url(cast), _form(mode="img2video", start_image="not-a-uuid")
    )
    assert "Enter a valid UUID." in _errors(bogus)


def test_a_missing_idempotency_key_is_refused(cast: Cast) -> None:
    response = cast.client_for(cast.editor).post(_url(cast), _form(idempotency_key=""))
    assert "This form is out of date: submit it again." in _errors(response)
    assert Job.objects.count() == 0


def test_htmx_submit_returns_a_fresh_form_and_the_new_card(cast: Cast) -> None:
    data = _form()
    response = cast.client_for(cast.editor).post(_url(cast), data, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    job = Job.objects.get()
    assert page.lstrip().startswith('<form id="generate-form"')
    assert 'hx-swap-oob="afterbegin:#job-list"' in page
    assert f'id="job-{job.public_id}"' in page
    assert data["idempotency_key"] not in page  # a new key for the next shot
    assert "A red kite over green hills" in page  # the creator's choices are kept
    assert '<section class="card prompt-card" id="prompt-history"' in page
    assert 'hx-swap-oob="true"' in page  # the prompt history refreshes too
    assert response["Vary"] == "HX-Request, Cookie" or "HX-Request" in response["Vary"]


def test_htmx_errors_come_back_as_200_with_the_form(cast: Cast) -> None:
    response = cast.client_for(cast.editor).post(
        _url(cast), _form(prompt=""), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "Describe the video you want." in response.content.decode()
    assert "<html" not in response.content.decode()


def test_viewer_outsider_and_get_are_refused(cast: Cast) -> None:
    assert cast.client_for(cast.viewer).post(_url(cast), _form()).status_code == 403
    assert cast.client_for(cast.outsider).post(_url(cast), _form()).status_code == 404
    assert cast.client_for(cast.editor).get(_url(cast)).status_code == 405
    assert Job.objects.count() == 0


def test_viewer_sees_no_generate_form(cast: Cast) -> None:
    page = cast.client_for(cast.viewer).get(f"/projects/{cast.project.public_id}/")
    assert 'id="generate-form"' not in page.content.decode()
    assert "editors generate" in page.content.decode()


def test_archived_projects_refuse_new_jobs(cast: Cast) -> None:
    from django.utils import timezone

    cast.project.archived_at = timezone.now()
    cast.project.save()
    response = cast.client_for(cast.editor).post(_url(cast), _form())
    assert "This project is archived. Restore it to generate in it." in _errors(response)
    assert Job.objects.count() == 0
    htmx = cast.client_for(cast.editor).post(_url(cast), _form(), HTTP_HX_REQUEST="true")
    assert "Restore the project before generating in it." in _errors(htmx)


# Prompts


def test_recalling_a_prompt_prefills_the_form_and_an_edit_makes_a_version(cast: Cast) -> None:
    client = cast.client_for(cast.editor)
    client.post(_url(cast), _form(prompt="A fox in the snow"))
    original = Prompt.objects.get()
    page = client.get(f"/projects/{cast.project.public_id}/?prompt={original.public_id}")
    content = page.content.decode()
    assert ">A fox in the snow</textarea>" in content
    assert f'value="{original.public_id}"' in content

    client.post(
        _url(cast),
        _form(prompt="A fox in the snow at night", recalled_prompt=str(original.public_id)),
    )
    edited = Prompt.objects.exclude(pk=original.pk).get()
    assert edited.parent == original
    client.post(
        _url(cast), _form(prompt="A fox in the snow", recalled_prompt=str(original.public_id))
    )
    assert Prompt.objects.count() == 2  # unchanged recall reuses the prompt
    assert Job.objects.filter(prompt=original).count() == 2


def test_earlier_prompts_are_listed_with_their_version_link(cast: Cast) -> None:
    client = cast.client_for(cast.editor)
    client.post(_url(cast), _form(prompt="Waves"))
    first = Prompt.objects.get()
    client.post(_url(cast), _form(prompt="Waves at dawn", recalled_prompt=str(first.public_id)))
    content = client.get(f"/projects/{cast.project.public_id}/").content.decode()
    assert "Earlier prompts" in content
    assert "edited from “Waves”" in content


def test_a_recalled_prompt_of_another_project_starts_a_new_line(cast: Cast) -> None:
    other = Prompt.objects.create(
        team=cast.outsider_project.team, project=cast.outsider_project, text="Secret"
    )
    cast.client_for(cast.editor).post(
        _url(cast), _form(prompt="Mine", recalled_prompt=str(other.public_id))
    )
    prompt = Job.objects.get().prompt
    assert prompt is not None and prompt.parent is None and prompt.project == cast.project


def test_edit_settings_and_run_prefills_from_a_job(cast: Cast) -> None:
    image = _image(cast.team)
    job = make_job(cast.project, cast.editor, mode="img2video", prompt_text="Old shot")
    job.inputs.create(image=image, position=0, role="start", sha256=image.sha256)
    content = (
        cast.client_for(cast.editor)
        .get(f"/projects/{cast.project.public_id}/?from_job={job.public_id}")
        .content.decode()
    )
    assert ">Old shot</textarea>" in content
    assert f'<option value="{image.public_id}" data-thumb' in content
    assert re.search(rf'value="{image.public_id}"[^>]* selected', content)
    assert re.search(r'value="img2video"[^>]*checked', content)
