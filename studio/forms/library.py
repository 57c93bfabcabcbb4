"""The reference library's upload form: several images, each judged on its own."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from studio.validators import check_image_header

MAX_FILES_PER_UPLOAD = 20


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    widget = MultipleImageInput

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        # Each file is judged on its own in the form's clean_<field>, so one
        # bad file does not hide what was wrong with the others.
        items = data if isinstance(data, list | tuple) else [data] if data else []
        items = [item for item in items if isinstance(item, UploadedFile)]
        if not items and self.required:
            raise ValidationError(self.error_messages["required"], code="required")
        return items


class ReferenceUploadForm(forms.Form):
    """Several images at once; each is judged on its own.

    Accepted files are in `accepted`, even when others were refused, so a bad
    file among ten does not cost the creator the other nine.
    """

    images = MultipleImageField(
        label="Images",
        help_text="JPEG, PNG or WebP, up to 20 MB and 40 megapixels each.",
        required=True,
        error_messages={"required": "Choose at least one image."},
        widget=MultipleImageInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.accepted: list[UploadedFile] = []

    def clean_images(self) -> list[UploadedFile]:
        files: list[UploadedFile] = self.cleaned_data["images"]
        if len(files) > MAX_FILES_PER_UPLOAD:
            raise ValidationError(
                f"Upload at most {MAX_FILES_PER_UPLOAD} images at a time "
                f"({len(files)} were chosen)."
            )
        refused = []
        for upload in files:
            try:
                check_image_header(upload, upload.size)
            except ValidationError as exc:
                refused.append(f"{upload.name}: {exc.messages[0]}")
            else:
                self.accepted.append(upload)
        if refused:
            raise ValidationError(refused)
        return files
