"""Signed, expiring public links to reference images.

Mountsea takes images only as URLs, so Studio hands it a link that needs no
sign-in: unguessable (an HMAC of the image's random id and the time), valid for
`STUDIO_SIGNED_URL_MAX_AGE` seconds, 404 afterwards.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core import signing
from django.urls import reverse

from studio.models import ReferenceImage

SALT = "studio.signed-reference"


def signed_reference_token(image: ReferenceImage) -> str:
    return signing.TimestampSigner(salt=SALT).sign(str(image.public_id))


def signed_reference_url(image: ReferenceImage) -> str:
    path = reverse("signed_reference", kwargs={"token": signed_reference_token(image)})
    return f"{settings.STUDIO_PUBLIC_URL}{path}"


def image_for_token(token: str) -> ReferenceImage | None:
    try:
        public_id = signing.TimestampSigner(salt=SALT).unsign(
            token, max_age=settings.STUDIO_SIGNED_URL_MAX_AGE
        )
        # A value signed under this salt that is not an image id (a reused
        # key, an older link format) is a bad link, not a server error.
        image_id = uuid.UUID(public_id)
    except (signing.BadSignature, ValueError):  # BadSignature covers SignatureExpired
        return None
    return ReferenceImage.objects.filter(public_id=image_id).first()
