from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand
from django.db import connections
from django_q.cluster import Cluster

from studio.jobs import scheduler


class Command(BaseCommand):
    help = (
        "Run Studio's worker: the django-q2 cluster (which runs submit and render tasks) "
        "in child processes, and the job scheduler (studio.jobs.scheduler) in this one."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        # The cluster's processes are forked from this one: no open connection
        # or thread may be shared with them, so start it before the scheduler.
        connections.close_all()
        cluster = Cluster()
        cluster.start()

        def request_stop(signum: int, frame: Any) -> None:
            stop.set()

        # Cluster() installed handlers that stop only the cluster; stop both, in order.
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        try:
            scheduler.run(stop)
        finally:
            cluster.stop()
