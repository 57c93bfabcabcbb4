"""In-memory state of the sandbox gateway: tasks, result files, faults, counters.

Task status is computed from the clock (created + n steps), so nothing runs in
the background and a poll costs a dictionary look-up under one lock.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

# Faults a request or the admin endpoint can ask for. Some act on the one
# request (latency, HTTP errors, timeouts, drops, bad bodies); the task-level
# ones given on a create change how that task ends or is answered.
REQUEST_FAULTS = frozenset(
    {
        "latency",
        "429",
        "500",
        "502",
        "503",
        "read_timeout",
        "drop_after_create",
        "drop",
        "malformed_json",
        "missing_fields",
        "unknown_status",
        "expire_result",
        "octet_stream",
    }
)
TASK_FAULTS = frozenset(
    {
        "fail",
        "timeout",
        "cancel",
        "no_url",
        "expire_result",
        "unknown_status",
        "video_urls",
        "missing_fields",
        "octet_stream",
    }
)
ALL_FAULTS = REQUEST_FAULTS | TASK_FAULTS
PHASES = ("create", "poll", "download")
UNKNOWN_STATUS = "warming_up"

Kind = Literal["mountsea", "openai"]
Fault = tuple[str, str]  # (name, parameter)


def parse_faults(raw: str) -> list[Fault]:
    """`"latency=0.5, 500"` or `"429;2"` -> [("latency", "0.5"), ("500", "")]."""
    found: list[Fault] = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, _, param = item.replace(";", "=", 1).partition("=")
        name = name.strip().lower()
        if name not in ALL_FAULTS:
            raise ValueError(
                f"unknown sandbox fault {name!r}; known: {', '.join(sorted(ALL_FAULTS))}"
            )
        param = param.strip()
        if name in ("latency", "read_timeout", "429", "503") and param:
            try:
                float(param)
            except ValueError:
                raise ValueError(f"sandbox fault {name} takes a number of seconds") from None
        found.append((name, param))
    return found


@dataclass
class Task:
    id: str
    kind: Kind
    created: float
    step: float
    model: str
    action: str
    aspect_ratio: str = "16:9"
    seconds: str = "8"
    flags: set[str] = field(default_factory=set)
    media_id: str = ""
    file_token: str = ""
    # The length of its MP4: an extension is longer than what it extends.
    clip_seconds: int = 2
    extended: bool = False

    STEPS = 3  # waiting steps before the terminal state

    def frame_size(self) -> tuple[int, int]:
        return (360, 640) if self.aspect_ratio == "9:16" else (640, 360)

    def steps_done(self, now: float) -> int:
        if self.step <= 0:
            return self.STEPS
        return int((now - self.created) / self.step)

    def finished_at(self) -> float:
        return self.created + self.STEPS * max(self.step, 0.0)

    def done(self, now: float) -> bool:
        return self.steps_done(now) >= self.STEPS

    @property
    def outcome(self) -> str:
        for name in ("fail", "timeout", "cancel", "no_url"):
            if name in self.flags:
                return name
        return "ok"

    def progress(self, now: float) -> int:
        if self.done(now):
            return 100
        if self.step <= 0:
            return 0
        elapsed = now - self.created - self.step
        return max(0, min(99, int(100 * elapsed / ((self.STEPS - 1) * self.step))))


@dataclass
class Armed:
    name: str
    param: str
    times: int  # -1: until cleared
    # The chance that one request gets it (drawn from the state's seeded random
    # generator); a request that does not get it leaves `times` as it was.
    rate: float = 1.0


class SandboxState:
    def __init__(self, *, key: str, step_seconds: float, file_ttl: float) -> None:
        self.lock = threading.Lock()
        self.random = random.Random(0)
        self.stopping = threading.Event()
        self.key = key
        self.defaults = {"step_seconds": step_seconds, "file_ttl": file_ttl}
        self.base_url = ""
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.step_seconds = float(self.defaults["step_seconds"])
            self.file_ttl = float(self.defaults["file_ttl"])
            self.tasks: dict[str, Task] = {}
            self.media: dict[str, str] = {}
            self.files: dict[str, str] = {}
            self.armed: dict[str, list[Armed]] = {phase: [] for phase in PHASES}
            self.random.seed(0)
            self.creates: Counter[str] = Counter()
            self.create_attempts: Counter[str] = Counter()
            self.polls: Counter[str] = Counter()
            self.downloads: Counter[str] = Counter()
            self.faults_applied: Counter[str] = Counter()
            self.create_bodies: list[dict[str, Any]] = []

    # -- faults ----------------------------------------------------------------

    def arm(self, phase: str, faults: list[Fault], times: int, rate: float = 1.0) -> None:
        """The next `times` requests of `phase` get `faults`; with `rate` below 1 each
        request gets each fault only by that chance (random per request, seeded by `seed`)."""
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}; use one of {', '.join(PHASES)}")
        if not 0.0 < rate <= 1.0:
            raise ValueError("a fault's rate is a chance: more than 0, at most 1")
        with self.lock:
            self.armed[phase].extend(Armed(name, param, times, rate) for name, param in faults)

    def seed(self, value: int) -> None:
        """Restart the generator that decides which requests get a fault armed with a rate."""
        with self.lock:
            self.random.seed(value)

    def clear_faults(self) -> None:
        with self.lock:
            self.armed = {phase: [] for phase in PHASES}

    def take_faults(self, phase: str, requested: list[Fault]) -> dict[str, str]:
        """Faults for one request: those it asked for plus armed ones (used up)."""
        faults = dict(requested)
        with self.lock:
            remaining = []
            for armed in self.armed[phase]:
                if armed.rate < 1.0 and self.random.random() >= armed.rate:
                    remaining.append(armed)  # not this request's turn
                    continue
                faults.setdefault(armed.name, armed.param)
                if armed.times < 0:
                    remaining.append(armed)
                elif armed.times > 1:
                    armed.times -= 1
                    remaining.append(armed)
            self.armed[phase] = remaining
            for name in faults:
                self.faults_applied[f"{phase}:{name}"] += 1
        return faults

    def armed_view(self) -> dict[str, list[dict[str, Any]]]:
        with self.lock:
            return {
                phase: [vars(armed).copy() for armed in items]
                for phase, items in self.armed.items()
            }

    # -- tasks -----------------------------------------------------------------

    def add_task(
        self, *, kind: Kind, path: str, body: dict[str, Any], flags: set[str], **fields: Any
    ) -> Task:
        """Record an accepted create: from here on it counts, whatever the answer."""
        task_id = secrets.token_hex(16) if kind == "mountsea" else _uuid_like()
        task = Task(
            id=task_id,
            kind=kind,
            created=time.monotonic(),
            step=self.step_seconds,
            flags=flags & TASK_FAULTS,
            media_id="CAUSJD" + secrets.token_urlsafe(18),
            file_token=secrets.token_urlsafe(18),
            **fields,
        )
        with self.lock:
            self.tasks[task.id] = task
            self.media[task.media_id] = task.id
            self.files[task.file_token] = task.id
            self.creates[path] += 1
            self.create_bodies.append({"path": path, "task_id": task.id, "body": body})
        return task

    def get_task(self, task_id: str, kind: Kind) -> Task | None:
        task = self.tasks.get(task_id)
        return task if task is not None and task.kind == kind else None

    def task_for_media(self, media_id: str) -> Task | None:
        task_id = self.media.get(media_id)
        return self.tasks.get(task_id) if task_id else None

    def task_for_file(self, token: str) -> Task | None:
        task_id = self.files.get(token)
        return self.tasks.get(task_id) if task_id else None

    def file_url(self, task: Task) -> str:
        return f"{self.base_url}/files/{task.file_token}.mp4"

    def file_expired(self, task: Task, now: float) -> bool:
        return "expire_result" in task.flags or now > task.finished_at() + self.file_ttl

    def count(self, counter: str, path: str) -> None:
        with self.lock:
            getattr(self, counter)[path] += 1

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "creates": dict(self.creates),
                "creates_total": sum(self.creates.values()),
                "create_attempts": dict(self.create_attempts),
                "polls": dict(self.polls),
                "polls_total": sum(self.polls.values()),
                "downloads": dict(self.downloads),
                "downloads_total": sum(self.downloads.values()),
                "faults_applied": dict(self.faults_applied),
                "tasks": len(self.tasks),
                "create_bodies": list(self.create_bodies),
                "step_seconds": self.step_seconds,
                "file_ttl": self.file_ttl,
            }


def _uuid_like() -> str:
    return str(uuid.uuid4())
