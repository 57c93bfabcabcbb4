"""Forms of the creator UI: every piece of creator input passes through one of these."""

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
        items = data if isinstance(data, list | tuple) else [data] if data else []
        single = super().clean
        return [single(item, initial) for item in items]


class ReferenceUploadForm(forms.Form):
    """Several images at once; each is judged on its own.

    Accepted files are in `accepted`, even when others were refused, so a bad
    file among ten does not cost the creator the other nine.
    """

    files = MultipleImageField(
        label="Images",
        help_text="JPEG, PNG or WebP, up to 20 MB and 40 megapixels each.",
        required=True,
        error_messages={"required": "Choose at least one image."},
        widget=MultipleImageInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.accepted: list[UploadedFile] = []

    def clean_files(self) -> list[UploadedFile]:
        files: list[UploadedFile] = self.cleaned_data["files"]
        if len(files) > MAX_FILES_PER_UPLOAD:
            raise ValidationError(
                f"Upload at most {MAX_FILES_PER_UPLOAD} images at a time "
                f"({len(files)} were chosen)."
            )
        refused = []
        for upload in files:
            try:
                check_image_header(upload.file, upload.size)
            except ValidationError as exc:
                refused.append(f"{upload.name}: {exc.messages[0]}")
            else:
                self.accepted.append(upload)
        if refused:
            raise ValidationError(refused)
        return files


class FrameForm(forms.Form):
    """Take one frame of a video into the library."""

    at = forms.FloatField(
        label="Time (seconds)",
        min_value=0,
        required=False,
        help_text="Leave empty for the last frame.",
    )
    then = forms.ChoiceField(
        choices=[("library", "Open the library"), ("start", "Start a follow-up shot")],
        initial="library",
        required=False,
    )


class ReportForm(forms.Form):
    reason = forms.CharField(
        label="What is wrong with this video?",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        error_messages={"required": "Tell the moderators what is wrong."},
    )

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError("Tell the moderators what is wrong.")
        return reason


STATUS_CHOICES = [
    ("", "Finished videos"),
    ("active", "In progress"),
    ("needs_attention", "Needs attention"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
    ("all", "Everything"),
]


class GalleryFilterForm(forms.Form):
    """The gallery's filters, read from the query string; bad values are ignored."""

    q = forms.CharField(label="Search prompts", required=False, max_length=200)
    mode = forms.ChoiceField(label="Mode", required=False)
    model = forms.ChoiceField(label="Model", required=False)
    status = forms.ChoiceField(label="Status", required=False, choices=STATUS_CHOICES)
    creator = forms.ChoiceField(label="Creator", required=False)
    project = forms.TypedChoiceField(label="Project", required=False, empty_value=None)
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    favourites = forms.BooleanField(label="Favourites only", required=False)
    after = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        data: Any,
        *,
        models: list[tuple[str, str]],
        creators: list[str],
        projects: list[tuple[str, str]] | None,
    ) -> None:
        super().__init__(data)
        from studio.models import Mode

        self.fields["mode"].choices = [("", "Any mode"), *Mode.choices]
        self.fields["model"].choices = [("", "Any model"), *models]
        self.fields["creator"].choices = [("", "Anyone"), *((c, c) for c in creators)]
        if projects is None:
            del self.fields["project"]
        else:
            field = self.fields["project"]
            assert isinstance(field, forms.TypedChoiceField)
            field.choices = [("", "All projects"), *projects]
            field.coerce = _uuid

    def filters(self) -> dict[str, Any]:
        """The valid filters; an invalid one is dropped rather than failing the page."""
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if k not in self.errors}

    @property
    def is_filtered(self) -> bool:
        data = self.filters()
        return any(data.get(k) for k in data if k != "after")


def _uuid(value: str) -> Any:
    from uuid import UUID

    return UUID(value)
