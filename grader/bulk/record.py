"""``GradingRecord``: one student's ``grading.json``, and the statuses a student can end in.

Written last of a student's files (its presence marks the student as done) by
``grader.bulk.student``; read back by the gradebook, the summary and resumed runs.
Every field is decided in the bulk grader's process from what the grading process
wrote (``results.json``) and what the workers' parents recorded (the incidents file),
never from a reply of student code.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal, get_args

#: ``graded``: every check ran; ``timeout`` / ``memory`` / ``crashed``: graded, but some
#: call ran out of time or memory or killed its worker (those checks score 0);
#: ``invalid``: nothing could be staged (or the grader itself failed: ``retry``).
Status = Literal["graded", "timeout", "memory", "crashed", "invalid"]
STATUSES: tuple[Status, ...] = get_args(Status)


@dataclass
class GradingRecord:
    """What ``RESULTS/<id>/grading.json`` holds."""

    id: str
    status: Status
    entry: str = ""  # the submission's name in SUBMISSIONS
    entry_key: str = ""  # its content key: a changed entry is graded again ("": a record of an older run)
    reason: str = ""
    score: float = 0.0
    max_score: float = 0.0
    exercises: dict[str, float] = field(default_factory=dict)  # exercise -> points
    seconds: float = 0.0
    flagged: bool = False
    flags: list[dict] = field(default_factory=list)  # ``grader.bulk.screen.Flag.to_json``
    notes: list[str] = field(default_factory=list)  # what staging changed or skipped
    faults: list[str] = field(default_factory=list)  # "WorkerTimeout: message", ...
    incidents: list[str] = field(default_factory=list)  # "tampering in activations.relu", ...
    peak_worker_mb: float | None = None
    workers_started: int = 0
    sandbox: dict | None = None  # what the first worker's sandbox applied and could not
    retry: bool = False  # the grader itself failed: the next run grades the student again

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> "GradingRecord | None":
        """The record in ``data`` (a parsed grading.json), or None if it is not one."""
        if not isinstance(data, dict) or data.get("status") not in STATUSES:
            return None
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{key: value for key, value in data.items() if key in known})
        except TypeError:  # a required field missing
            return None

    @classmethod
    def read(cls, path: Path) -> "GradingRecord | None":
        """The record at ``path``, or None if it is missing or unreadable."""
        try:
            return cls.from_json(json.loads(Path(path).read_text()))
        except (OSError, ValueError):
            return None


__all__ = ["GradingRecord", "Status", "STATUSES"]
