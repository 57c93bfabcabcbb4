"""Two staff members hide the same video at the same moment: one wins, the other is told."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from studio.models import AuditEvent, Video
from tests.conftest import Cast
from tests.factories import make_output, make_user

ROUNDS = 5


@pytest.mark.django_db(transaction=True)
def test_hiding_the_same_video_twice_at_once_hides_it_once_and_never_500s(cast: Cast) -> None:
    clients = [cast.client_for(make_user(name, is_staff=True)) for name in ("sam", "sue")]
    for _ in range(ROUNDS):
        video = make_output(cast.project, cast.editor)
        barrier = threading.Barrier(len(clients))
        answers: list[Any] = []

        def hide(
            client: Any,
            video: Video = video,
            barrier: threading.Barrier = barrier,
            answers: list[Any] = answers,
        ) -> None:
            try:
                barrier.wait()
                answers.append(client.post(f"/review/videos/{video.public_id}/hide/", follow=True))
            finally:
                connection.close()

        threads = [threading.Thread(target=hide, args=(client,)) for client in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [a.status_code for a in answers] == [200, 200]
        pages = "".join(a.content.decode() for a in answers)
        assert pages.count("Video hidden.") == 1
        assert pages.count("This video is already hidden.") == 1
        assert (
            AuditEvent.objects.filter(action="video.hide", object_id=str(video.public_id)).count()
            == 1
        )
