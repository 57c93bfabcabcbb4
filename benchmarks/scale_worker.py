"""`manage.py worker` with a stopwatch on its polls, for bench_jobs_scale.py.

    python -m benchmarks.scale_worker OUT.json

Runs the worker command unchanged (scheduler, sweep, django-q2 cluster); the
only addition is a wrapper around `sweep.poll_batch` that notes, for every job
of a batch it claimed, when it was due and when the batch was claimed. At exit (SIGTERM)
the samples go to OUT.json as [claimed at (epoch s), seconds late] pairs.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def main(out: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from studio.jobs import sweep

    samples: list[tuple[float, float]] = []
    poll_batch = sweep.poll_batch

    def observed(batch: list[Any], pool: Any = None) -> None:
        now = time.time()
        due = {job.pk: job.next_poll_at for job in batch}
        poll_batch(batch, pool)
        # A job this worker claimed has a new next poll; one another worker
        # claimed first was left as it was, and is counted by that worker.
        samples.extend(
            (now, now - due[job.pk].timestamp())
            for job in batch
            if due[job.pk] is not None and job.next_poll_at != due[job.pk]
        )

    sweep.poll_batch = observed  # type: ignore[assignment]
    try:
        call_command("worker")
    finally:
        with open(out, "w") as fh:
            json.dump(samples, fh)


if __name__ == "__main__":
    main(sys.argv[1])
