from __future__ import annotations

from django import template

from studio.models import ShareLink, Video
from studio.services.sharing import live_link

register = template.Library()


@register.simple_tag
def share_link_of(video: Video) -> ShareLink | None:
    """The video's live share link, for its editors' share card."""
    return live_link(video)
