from __future__ import annotations

import signal
import sys
import threading
from typing import Any

from django.core.management.base import BaseCommand
from django.db import connections
from django_q.cluster import Cluster

from studio import storage
from studio.jobs import scheduler


class Command(BaseCommand):
    help = (
        "Run Studio's worker: the django-q2 cluster (which runs submit and render tasks) "
        "in child processes, and the job scheduler (studio.jobs.scheduler) in this one."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        storage.log_at_start()
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
        cluster_died = threading.Event()

        def watch_cluster() -> None:
            # Without its cluster the worker would beat the heartbeat while no
            # submit or render ever ran: stop, so a supervisor restarts the whole worker.
            while not stop.wait(1.0):
                if cluster.sentinel is not None and not cluster.sentinel.is_alive():
                    cluster_died.set()
                    stop.set()

        threading.Thread(target=watch_cluster, name="cluster-watch", daemon=True).start()
        try:
            scheduler.run(stop)
        finally:
            if not cluster_died.is_set():
                cluster.stop()
        if cluster_died.is_set():
            self.stderr.write("The task cluster stopped; the worker stops too.")
            sys.exit(1)
