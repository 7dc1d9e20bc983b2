"""Grade one student: stage the submission, run the real grader on it, publish the result.

The grader runs as its own process, exactly as an instructor would run it by hand::

    python -m pytest <repo>/grader --target <staged folder> --isolate --results ...
           --train-cache <RESULTS>/.train_cache -p no:cacheprovider -q

so every probe runs in a sandboxed worker (``grader.isolation``), and nothing the student
wrote runs in this process or in the pytest process. The workers report their faults
to an incidents file (``COURSE_WORKER_INCIDENTS``), from which the student's status
comes: ``memory``, ``timeout`` or ``crashed`` if any call ran out of memory, out of
time or killed its worker, else ``graded``; ``invalid`` if nothing could be staged.
The checks that did not fail keep their points in every case.

Before grading, ``grader.bulk.screen`` reads the staged modules (as text, never
importing them): code that reaches for the grader's internals is graded as usual but
``flagged``, with the file, line and reason of each finding, in ``grading.json``
(``flags``), ``feedback.md`` and the gradebook.

Published in ``RESULTS/<id>/``, each file atomically: ``results.json`` (as the grader
wrote it), ``feedback.md``, ``feedback.html`` (``grader.feedback_page.render_page`` of the
results, the pictures the grading process drew, written with ``--figures``, and the
grading record), ``grader-output.txt`` (the end of pytest's output) and, last, ``grading.json`` (status, reason, flags, scores, seconds, peak worker memory, the
sandbox applied, and which entry it is: ``entry``, ``entry_key``), whose presence marks
the student as done, unless it belongs to another entry (ids are given by name, and a
new entry can change them) or records a failure of the grader itself (``retry``).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader.atomic import write_json_atomic, write_text_atomic
from grader.bulk.feedback import feedback_text
from grader.bulk.record import STATUSES, GradingRecord, Status
from grader.bulk.screen import screen
from grader.bulk.submissions import Entry, InvalidSubmission, stage
from grader.feedback_page import render_page
from grader.launch import RunHandle, grader_args, grading_environment, start
from grader.report import Scoreboard, gradescope_results
from grader.tf_runtime import CORES_VARIABLE
from grader.warm_grader import WarmGrader

#: Worker fault types (``grader.isolation.worker_handle``) and the student status each implies, by priority.
FAULT_STATUS = (
    ("memory", {"WorkerMemory", "MemoryError"}),
    ("timeout", {"WorkerTimeout"}),
    ("crashed", {"WorkerDied", "OutputFlood", "ReplyTooLarge", "ProtocolError"}),
)
#: Seconds pytest gets to write its results after an interrupt, before it is killed.
INTERRUPT_GRACE = 60
OUTPUT_KEPT_BYTES = 20_000
PYTEST_INTERRUPTED = 2  # pytest's exit code after Ctrl-C
#: Seconds between two looks at ``grade_student``'s ``stop`` while pytest runs.
STOP_POLL = 2.0
#: The grading run's pictures (``--figures``), in the student's work folder.
FIGURES_FILE = "figures.json"


class Interrupted(Exception):
    """The grader was interrupted from outside (Ctrl-C): nothing is published."""


@dataclass(frozen=True)
class Settings:
    """How a class is graded (``course grade`` options)."""

    out: Path
    call_timeout: float = 30.0
    memory_mb: int = 4096
    student_timeout: float = 1800.0
    #: Cores one student's grading may use (``COURSE_CORES``: how many accuracy bars train at
    #: once and with how many threads, ``grader.checking.bar_runs``); None: the whole machine's.
    cores: int | None = None


def is_done(out: Path, entry: Entry) -> bool:
    """Whether ``entry`` has its result already (a readable ``grading.json`` of its own)."""
    record = GradingRecord.read(out / entry.id / "grading.json")
    return record is not None and not record.retry and record.entry_key in ("", entry.key)  # "": older runs


def grade_student(entry: Entry, settings: Settings, launcher: WarmGrader,
                  stop: Callable[[], bool] | None = None) -> GradingRecord:
    """Grade ``entry`` with a run forked by ``launcher`` and publish its files; return its
    grading record.

    Each attempt works in a folder of its own (``RESULTS/.work/<id>-<attempt>``), so an
    attempt retried elsewhere (``grader.bulk.cluster``) never shares a file with a dead one.
    ``stop()``, asked every ``STOP_POLL`` seconds, interrupts the attempt (``Interrupted``,
    nothing published) when it turns true.
    """
    if stop is not None and stop():
        raise Interrupted("the run was stopped before this student started")
    started = time.monotonic()
    work = settings.out / ".work" / f"{entry.id}-{uuid.uuid4().hex[:12]}"
    (work / "tmp").mkdir(parents=True)
    try:
        record = GradingRecord(entry.id, "invalid", entry.name, entry.key)
        figures: dict = {}
        try:
            record.notes = stage(entry, work / "submission")
        except InvalidSubmission as error:
            record.reason, results = str(error), _empty_results(str(error))
        else:
            record.flags = [flag.to_json() for flag in screen(work / "submission")]
            results = _grade_staged(work, settings, launcher, record, stop)
            figures = _figures(work / FIGURES_FILE)
        _score(record, results)
        record.flagged, record.seconds = bool(record.flags), round(time.monotonic() - started, 1)
        _publish(settings.out / entry.id, results, record, work / "grader-output.txt", figures)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return record


def publish_failure(entry: Entry, settings: Settings, error: BaseException) -> GradingRecord:
    """Publish an ``invalid`` row for ``entry`` that the grader itself failed to grade
    (``retry``: the next run grades it again)."""
    reason = (f"not graded: the grader failed ({type(error).__name__}: {error}); "
              "run `course grade` again to retry")
    record = GradingRecord(entry.id, "invalid", entry.name, entry.key, reason, retry=True)
    _score(record, _empty_results(reason))
    _publish(settings.out / entry.id, _empty_results(reason), record, None)
    return record


def _grade_staged(work: Path, settings: Settings, launcher: WarmGrader, record: GradingRecord,
                  stop: Callable[[], bool] | None = None) -> dict:
    """Grade the staged submission in ``work``; fill ``record``'s status and worker facts;
    return the results.json to publish."""
    results_path, incidents = work / "results.json", work / "incidents.jsonl"
    args = grader_args(work / "submission", results_path, "--isolate",
                       "--train-cache", str(settings.out / ".train_cache"),
                       "--worker-timeout", str(settings.call_timeout), "--worker-memory", str(settings.memory_mb),
                       "--worker-incidents", str(incidents), "--figures", str(work / FIGURES_FILE))
    process = start(args, output=work / "grader-output.txt", warm=launcher, cwd=work,
                    env=grading_environment(TMPDIR=str(work / "tmp"),
                                            **({CORES_VARIABLE: str(settings.cores)} if settings.cores else {})))
    ended = _wait(process, settings.student_timeout, stop)
    timed_out = ended == "timeout"
    if ended == "stopped" or (process.returncode == PYTEST_INTERRUPTED and not timed_out):
        raise Interrupted(f"the grader was interrupted ({process.returncode})")
    results = json.loads(results_path.read_text()) if results_path.is_file() else None
    events = _events(incidents)
    status, reason = classify([e for e in events if e.get("event") == "fault"], process.returncode,
                              timed_out, results is not None, settings.student_timeout)
    workers = [e for e in events if e.get("event") == "worker"]
    record.status, record.reason = status, reason
    record.faults = [f"{e['type']}: {e.get('message', '')}" for e in events if e.get("event") == "fault"]
    record.incidents = sorted({f"{e['event']} in {e.get('call')}" for e in events
                               if e.get("event") in ("tampering", "stray_processes")})
    record.peak_worker_mb = max((e.get("peak_mb") or e.get("peak_rss_mb") or 0 for e in workers), default=None)
    record.workers_started = len(workers)
    record.sandbox = next((e["sandbox"] for e in workers if e.get("sandbox")), None)
    return results or _empty_results(reason)


def _wait(process: RunHandle, limit: float, stop: Callable[[], bool] | None = None) -> str:
    """Wait for pytest: ``"done"``; past ``limit`` (``"timeout"``) or once ``stop()``
    (``"stopped"``) interrupt it (it still writes results)."""
    deadline, ended = time.monotonic() + limit, "timeout"
    while (left := deadline - time.monotonic()) > 0:
        try:
            process.wait(timeout=min(left, STOP_POLL) if stop else left)
            return "done"
        except subprocess.TimeoutExpired:
            if stop is not None and stop():
                ended = "stopped"
                break
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=INTERRUPT_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return ended


def _figures(path: Path) -> dict:
    """The pictures the grading process wrote (``render_page`` checks each one again)."""
    try:
        figures = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return figures if isinstance(figures, dict) else {}


def _events(path: Path) -> list[dict]:
    events = []
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue  # a line cut short by a kill
    return events


def classify(faults: list[dict], returncode: int | None, timed_out: bool, has_results: bool,
             limit: float) -> tuple[Status, str]:
    """The student's status and its reason (see the module docstring)."""
    if timed_out:
        return "timeout", f"grading took longer than {limit:g} s; the checks not reached score 0"
    for status, kinds in FAULT_STATUS:
        hits = [fault for fault in faults if fault.get("type") in kinds]
        if hits:
            more = f" (and {len(hits) - 1} more)" if len(hits) > 1 else ""
            return status, f"{hits[0].get('message') or hits[0]['type']}{more}"
    if not has_results:
        return "crashed", f"the grader stopped (exit code {returncode}) before writing results"
    if returncode != 0:
        return "crashed", f"the grader reported an internal error (exit code {returncode})"
    return "graded", ""


def _empty_results(reason: str) -> dict:
    results = gradescope_results(Scoreboard([]), 0.0, {"status_reason": reason})
    results["output"] = f"Not graded: {reason}"
    return results


def _score(record: GradingRecord, results: dict) -> None:
    """Copy the totals of ``results`` (written by the grading process) into ``record``."""
    exercises = results.get("extra_data", {}).get("exercises", {})
    record.score = float(results.get("score", 0.0))
    record.max_score = float(results.get("max_score", 0.0))
    record.exercises = {name: float(entry.get("score", 0.0)) for name, entry in exercises.items()}


def _publish(folder: Path, results: dict, record: GradingRecord, output: Path | None,
             figures: dict | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "results.json", results)
    write_text_atomic(folder / "feedback.md", feedback_text(record, results))
    write_text_atomic(folder / "feedback.html", render_page(results, figures or {}, record.to_json()))
    if output is not None and output.is_file():
        data = output.read_bytes()[-OUTPUT_KEPT_BYTES:]
        write_text_atomic(folder / "grader-output.txt", data.decode("utf-8", "replace"))
    write_json_atomic(folder / "grading.json", record.to_json())  # last: the student is done


__all__ = ["Settings", "Interrupted", "STATUSES", "grade_student", "publish_failure", "is_done", "classify"]
