"""The generate form in a real browser: a change of mode, provider or model asks
the server for the form again, and what the creator typed and picked stays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from studio.models import Job, ReferenceImage
from studio.services import library
from tests import factories
from tests.factories import image_bytes, upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_changing_provider_and_mode_re_renders_the_form_and_keeps_the_prompt_and_key(
    signed_in_page: tuple[Page, Any], live_server: Any, artifacts_dir: Path
) -> None:
    page, user = signed_in_page
    team = factories.personal_team(user)
    project = factories.make_project(team, "Refresh", user)
    for n in range(3):
        data = image_bytes(size=(320, 180), color=(40 * n, 90, 160))
        library.store_upload(team, user, upload(f"r{n}.png", data).file, f"Ref {n}.png")
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    refreshes: list[str] = []
    page.on(
        "request",
        lambda r: refreshes.append(r.post_data or "") if r.url.endswith("/generate/") else None,
    )
    page.goto(f"{live_server.url}/projects/{project.public_id}/")
    key = page.locator('input[name="idempotency_key"]').input_value()
    page.get_by_role("textbox", name="Prompt").fill("Harbour lights in the rain")

    page.get_by_text("Ingredients to video", exact=True).click()
    expect(page.get_by_role("combobox", name="Ingredient 3")).to_be_visible()
    page.get_by_label("Provider").select_option("local")
    expect(page.locator("[data-estimate]")).to_have_text("0 credits")
    expect(page.get_by_text("(free, rendered on this server)")).to_be_visible()
    expect(page.get_by_label("Length")).to_be_enabled()
    expect(page.get_by_role("textbox", name="Prompt")).to_have_value("Harbour lights in the rain")
    assert page.locator('input[name="idempotency_key"]').input_value() == key
    assert len(refreshes) == 2 and all("refresh=1" in body for body in refreshes)
    expect(page.locator(".errorlist")).to_have_count(0)

    page.get_by_role("button", name="Choose the ingredient 1 from the library").click()
    page.get_by_role("dialog").get_by_role("button", name="Ref 1.png").click()
    page.screenshot(path=str(artifacts_dir / "generate-refreshed.png"), full_page=True)
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("Submitted. Follow it in the queue.")).to_be_visible()
    job = Job.objects.get()
    assert (job.mode, job.provider, job.prompt_text) == (
        "ingredients2video",
        "local",
        "Harbour lights in the rain",
    )
    assert str(job.idempotency_key) == key
    assert errors == []


def test_without_javascript_the_update_button_re_renders_and_generate_posts(
    signed_in_page: tuple[Page, Any], live_server: Any, artifacts_dir: Path
) -> None:
    page, user = signed_in_page
    project = factories.make_project(factories.personal_team(user), "No script", user)
    browser = page.context.browser
    assert browser is not None
    context = browser.new_context(java_script_enabled=False)
    context.add_cookies(page.context.cookies())
    plain = context.new_page()
    plain.goto(f"{live_server.url}/projects/{project.public_id}/")
    plain.get_by_role("textbox", name="Prompt").fill("Dunes at noon")
    plain.get_by_label("Provider").select_option("local")
    plain.get_by_role("button", name="Update the choices").click()
    expect(plain.locator("[data-estimate]")).to_have_text("0 credits")
    expect(plain.get_by_label("Model")).to_have_value("draft")
    expect(plain.get_by_role("textbox", name="Prompt")).to_have_value("Dunes at noon")
    expect(plain.locator(".errorlist")).to_have_count(0)
    plain.screenshot(path=str(artifacts_dir / "generate-no-js-updated.png"), full_page=True)
    plain.get_by_role("button", name="Generate").click()
    expect(plain.get_by_text("Submitted. Your video appears in the queue.")).to_be_visible()
    assert Job.objects.get().provider == "local"
    context.close()


# A 320x180 PNG built in the page, dropped or pasted as a File through DataTransfer.
_PNG_IN_PAGE = """async ([selector, how, name]) => {
  const canvas = document.createElement("canvas");
  canvas.width = 320; canvas.height = 180;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = how === "drop" ? "#d05a28" : "#2878c8";
  ctx.fillRect(0, 0, 320, 180);
  ctx.fillStyle = "#ffffff"; ctx.fillRect(120, 40, 80, 100);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  const transfer = new DataTransfer();
  transfer.items.add(new File([blob], name, { type: "image/png" }));
  const target = document.querySelector(selector);
  const init = { bubbles: true, cancelable: true };
  if (how === "drop") {
    target.dispatchEvent(new DragEvent("dragover", { ...init, dataTransfer: transfer }));
    target.dispatchEvent(new DragEvent("drop", { ...init, dataTransfer: transfer }));
  } else {
    target.focus();
    target.dispatchEvent(new ClipboardEvent("paste", { ...init, clipboardData: transfer }));
  }
}"""


def test_an_image_dropped_or_pasted_into_a_slot_joins_the_library_and_fills_the_slot(
    signed_in_page: tuple[Page, Any], live_server: Any, artifacts_dir: Path
) -> None:
    page, user = signed_in_page
    team = factories.personal_team(user)
    project = factories.make_project(team, "Drop", user)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/projects/{project.public_id}/")
    page.get_by_role("textbox", name="Prompt").fill("A kite over the dunes")
    # Each change re-renders the form: wait for each, so none is cut short.
    page.get_by_text("Frames to video", exact=True).click()
    expect(page.get_by_role("combobox", name="Start frame")).to_be_attached()
    page.get_by_label("Provider").select_option("local")
    expect(page.get_by_text("(free, rendered on this server)")).to_be_visible()

    page.evaluate(_PNG_IN_PAGE, ['[data-slot-name="start_image"]', "drop", "dropped.png"])
    # An upload, a store and a re-render: slower than a click on a busy machine.
    expect(page.get_by_text("dropped.png added to your library.")).to_be_visible(timeout=20_000)
    dropped = ReferenceImage.objects.get(team=team, original_name="dropped.png")
    expect(page.get_by_role("combobox", name="Start frame")).to_have_value(str(dropped.public_id))
    expect(page.locator('[data-slot-name="start_image"] .slot-preview img')).to_be_visible()

    page.evaluate(
        _PNG_IN_PAGE, ['[data-slot-name="end_image"] [data-slot-preview]', "paste", "pasted.png"]
    )
    expect(page.get_by_text("pasted.png added to your library.")).to_be_visible(timeout=20_000)
    pasted = ReferenceImage.objects.get(team=team, original_name="pasted.png")
    expect(page.get_by_role("combobox", name="End frame")).to_have_value(str(pasted.public_id))
    # The first slot kept its image and the prompt its words across both re-renders.
    expect(page.get_by_role("combobox", name="Start frame")).to_have_value(str(dropped.public_id))
    expect(page.get_by_role("textbox", name="Prompt")).to_have_value("A kite over the dunes")
    page.screenshot(path=str(artifacts_dir / "generate-slot-dropped.png"), full_page=True)

    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("Submitted. Follow it in the queue.")).to_be_visible()
    job = Job.objects.get()
    assert [(i.role, i.image_id) for i in job.inputs.order_by("position")] == [
        ("start", dropped.pk),
        ("end", pasted.pk),
    ]
    assert errors == []
