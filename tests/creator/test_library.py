from __future__ import annotations

import io

import pytest
from PIL import Image

from studio.models import ReferenceImage
from tests.conftest import Cast
from tests.factories import image_bytes, make_job, member_client, png_header_only, upload

pytestmark = pytest.mark.django_db


def _post(client, *files):  # type: ignore[no-untyped-def]
    return client.post("/library/", {"images": list(files)})


def _stored_image(ref: ReferenceImage) -> Image.Image:
    with ref.file.open("rb") as fh:
        image = Image.open(io.BytesIO(fh.read()))
        image.load()
    return image


def test_editor_uploads_several_images_at_once(cast: Cast) -> None:
    client = member_client(cast.team, cast.editor)
    response = _post(
        client,
        upload("a.png", image_bytes("PNG", color=(10, 20, 30))),
        upload("b.jpg", image_bytes("JPEG", color=(200, 20, 30)), "image/jpeg"),
        upload("c.webp", image_bytes("WEBP", color=(10, 200, 30)), "image/webp"),
    )
    assert response.status_code == 302
    names = set(cast.team.reference_images.values_list("original_name", flat=True))
    assert names == {"a.png", "b.jpg", "c.webp"}
    page = client.get("/library/").content.decode()
    assert "3 images added to your library." in page


def test_the_same_picture_twice_is_recognised_as_already_in_the_library(cast: Cast) -> None:
    client = member_client(cast.team, cast.editor)
    data = image_bytes("PNG", color=(1, 2, 3))
    _post(client, upload("first.png", data))
    response = client.post("/library/", {"images": [upload("again.png", data)]}, follow=True)
    assert cast.team.reference_images.count() == 1
    assert "first.png is already in your library." in response.content.decode()


def test_the_same_picture_in_another_team_is_a_separate_image(cast: Cast) -> None:
    data = image_bytes("PNG", color=(9, 9, 9))
    _post(member_client(cast.team, cast.editor), upload("x.png", data))
    _post(cast.client_for(cast.outsider), upload("x.png", data))
    assert ReferenceImage.objects.filter(original_name="x.png").count() == 2


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.jpg", b"this is plain text, renamed", "This is not a JPEG, PNG or WebP image."),
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>',
            "This is not a JPEG, PNG or WebP image.",
        ),
        ("anim.gif", image_bytes("GIF"), "GIF files are not accepted"),
        ("bomb.png", png_header_only(30_000, 30_000), "at most 40 megapixels"),
        ("big.png", png_header_only(8000, 5001), "8000 × 5001"),
        ("empty.png", b"", "The file is empty."),
    ],
)
def test_bad_files_are_refused_with_a_message_next_to_the_field_and_nothing_stored(
    cast: Cast, name: str, data: bytes, message: str
) -> None:
    client = member_client(cast.team, cast.editor)
    response = _post(client, upload(name, data))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"{name}: " in html and message in html
    assert 'class="errorlist"' in html
    assert cast.team.reference_images.count() == 0


def test_a_file_over_20_mb_is_refused_before_it_is_opened(cast: Cast) -> None:
    client = member_client(cast.team, cast.editor)
    response = _post(client, upload("huge.png", b"\x89PNG" + b"\0" * (20 * 1024 * 1024 + 1)))
    assert "images can be at most 20 MB" in response.content.decode()
    assert cast.team.reference_images.count() == 0


def test_good_files_are_kept_when_another_file_of_the_upload_is_refused(cast: Cast) -> None:
    client = member_client(cast.team, cast.editor)
    response = _post(client, upload("good.png"), upload("bad.jpg", b"nope"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "bad.jpg: This is not a JPEG, PNG or WebP image." in html
    assert "good.png added to your library." in html
    assert list(cast.team.reference_images.values_list("original_name", flat=True)) == ["good.png"]


def test_no_file_at_all_asks_for_one(cast: Cast) -> None:
    response = member_client(cast.team, cast.editor).post("/library/", {})
    assert "Choose at least one image." in response.content.decode()


def test_exif_orientation_is_applied_and_metadata_dropped(cast: Cast) -> None:
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    _post(member_client(cast.team, cast.editor), upload("phone.jpg", out.getvalue(), "image/jpeg"))
    ref = cast.team.reference_images.get()
    assert (ref.width, ref.height) == (20, 40)
    stored = _stored_image(ref)
    assert stored.size == (20, 40)
    assert stored.format == "JPEG" and ref.content_type == "image/jpeg"
    assert not stored.getexif()


def test_cmyk_is_converted_to_rgb(cast: Cast) -> None:
    data = image_bytes("JPEG", mode="CMYK", color=(0, 255, 255, 0))
    _post(member_client(cast.team, cast.editor), upload("print.jpg", data, "image/jpeg"))
    stored = _stored_image(cast.team.reference_images.get())
    assert stored.mode == "RGB"
    red, green, blue = stored.getpixel((5, 5))  # type: ignore[misc]
    assert red > 200 and green < 60 and blue < 60


def test_transparency_is_placed_on_white_and_stored_as_png(cast: Cast) -> None:
    data = image_bytes("PNG", mode="RGBA", color=(0, 0, 0, 0))
    _post(member_client(cast.team, cast.editor), upload("cutout.png", data))
    ref = cast.team.reference_images.get()
    stored = _stored_image(ref)
    assert ref.content_type == "image/png" and stored.mode == "RGB"
    assert stored.getpixel((3, 3)) == (255, 255, 255)


def test_16_bit_greyscale_is_scaled_to_8_bits(cast: Cast) -> None:
    image = Image.new("I;16", (8, 8), 32768)
    out = io.BytesIO()
    image.save(out, format="PNG")
    _post(member_client(cast.team, cast.editor), upload("depth.png", out.getvalue()))
    stored = _stored_image(cast.team.reference_images.get())
    assert stored.mode == "RGB"
    assert stored.getpixel((1, 1)) == (128, 128, 128)


def test_palette_images_become_rgb(cast: Cast) -> None:
    data = image_bytes("PNG", mode="P", color=3)
    _post(member_client(cast.team, cast.editor), upload("indexed.png", data))
    assert _stored_image(cast.team.reference_images.get()).mode == "RGB"


def test_viewer_cannot_upload_or_delete(cast: Cast) -> None:
    editor = member_client(cast.team, cast.editor)
    _post(editor, upload("a.png"))
    ref = cast.team.reference_images.get()
    viewer = member_client(cast.team, cast.viewer)
    assert _post(viewer, upload("b.png")).status_code == 403
    assert viewer.post(f"/library/{ref.public_id}/delete/").status_code == 403
    assert viewer.get("/library/").status_code == 200
    assert cast.team.reference_images.count() == 1


def test_outsider_gets_404_for_another_teams_image(cast: Cast) -> None:
    _post(member_client(cast.team, cast.editor), upload("a.png"))
    ref = cast.team.reference_images.get()
    outsider = cast.client_for(cast.outsider)
    assert outsider.post(f"/library/{ref.public_id}/delete/").status_code == 404
    assert outsider.get(f"/files/references/{ref.public_id}").status_code == 404
    assert outsider.get(f"/files/references/{ref.public_id}/thumb").status_code == 404


def test_editor_deletes_an_unused_image_but_not_one_a_job_used(cast: Cast) -> None:
    client = member_client(cast.team, cast.editor)
    _post(client, upload("a.png", image_bytes(color=(1, 1, 1))), upload("b.png"))
    used, unused = cast.team.reference_images.order_by("original_name")
    job = make_job(cast.project, cast.editor, mode="img2video")
    job.inputs.create(image=used, position=0, role="start", sha256=used.sha256)
    client.post(f"/library/{unused.public_id}/delete/")
    response = client.post(f"/library/{used.public_id}/delete/", follow=True)
    assert list(cast.team.reference_images.all()) == [used]
    assert "stays for the job" in response.content.decode()


def test_members_see_image_and_thumbnail(cast: Cast) -> None:
    _post(member_client(cast.team, cast.editor), upload("a.png", image_bytes(size=(1200, 900))))
    ref = cast.team.reference_images.get()
    viewer = member_client(cast.team, cast.viewer)
    full = viewer.get(f"/files/references/{ref.public_id}")
    assert full.status_code == 200 and full["Content-Type"] == "image/png"
    b"".join(full.streaming_content)  # type: ignore[attr-defined]
    thumb = viewer.get(f"/files/references/{ref.public_id}/thumb")
    assert thumb["Content-Type"] == "image/jpeg"
    small = Image.open(io.BytesIO(b"".join(thumb.streaming_content)))  # type: ignore[attr-defined]
    assert max(small.size) <= 480


def test_htmx_upload_returns_the_library_fragment(cast: Cast) -> None:
    client = member_client(cast.team, cast.editor)
    response = client.post("/library/", {"images": [upload("a.png")]}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="library-body"')
    assert "a.png added to your library." in html
    assert "<html" not in html
