"""The session's accuracy-bar runs, each at most once, started ahead when they train elsewhere.

A bar check asks ``BarRuns.outcome(exercise, progress)`` for its run (``bar_scoring.BAR_RUNS``
names one per exercise). Under ``--isolate`` every run trains in a fresh worker of its own
(``staged_worker``), so the plugin calls ``start(exercises)`` at the session's first check:
the runs are then driven by threads of the grading process while the other checks run,
one run per core the grading may use at a time (``runs_at_once``: ``COURSE_CORES``, which
``course grade`` sets to each student's share, else the machine's cores), each worker
niced so the checks' own worker comes first, and given its share of the cores as
TensorFlow threads (``ahead_worker_options``). The bar
check waits for its run, first replaying the progress lines the run said so far (only the
main thread writes to the terminal). A run not started ahead (in-process grading, where
student code runs in this very process) runs when its check asks, as before.

What a run computes does not depend on this: ``train(exercise, progress)`` is the same
``run_bar`` call either way, each run has its own worker, initial weights and cache key,
and the score is still decided here from the weights it returns. Only the wall time
changes. ``close()`` (the session's end) stops runs nobody waited for (``-x``, Ctrl-C, a
student's time limit in ``course grade``): it kills their workers, and a run that has not
started yet, or calls again, gets ``RunCancelled``.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable

from grader.checking.bar_scoring import BarOutcome, Progress
from grader.tf_runtime import THREADS_VARIABLE, grading_cores, machine_cores

#: Added to a bar worker's niceness while it trains ahead of the other checks.
AHEAD_NICE = 10
#: Seconds ``close()`` waits for each cancelled run's thread to end.
CLOSE_WAIT = 5.0


class RunCancelled(RuntimeError):
    """The session ended before anyone waited for this bar run."""


def _refuse_if(cancelled: threading.Event) -> None:
    if cancelled.is_set():
        raise RunCancelled("the grading session ended before this accuracy bar was checked")


def runs_at_once(runs: int, cores: int | None = None) -> int:
    """How many of ``runs`` bar runs train side by side: one per core the grading may use
    (``grading_cores()``: ``COURSE_CORES``, else the machine's), at least one."""
    return max(1, min(runs, cores or grading_cores()))


def ahead_worker_options(at_once: int, cores: int | None = None) -> dict:
    """Worker options of one of ``at_once`` bar runs training side by side.

    Niced by ``AHEAD_NICE``; ``cores // at_once`` intra-op threads each (at least 1) and one
    inter-op thread, so the runs share the grading's cores instead of each starting a pool
    as large as the machine; TensorFlow's defaults when one run has the whole machine, and
    ``COURSE_TF_THREADS`` when it is set (every worker gets that, as it always does).
    """
    options: dict = {"nice": AHEAD_NICE}
    cores = cores or grading_cores()
    if os.environ.get(THREADS_VARIABLE) or (at_once == 1 and cores >= machine_cores()):
        return options
    options["tf_threads"] = f"{max(1, cores // at_once)},1"
    return options


class _Run:
    """One run started ahead: the lines it said, its outcome."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.finished = False
        self.outcome: BarOutcome | None = None
        self.error: BaseException | None = None
        self.changed = threading.Condition()

    def say(self, text: str) -> None:
        with self.changed:
            self.lines.append(text)
            self.changed.notify_all()


class _Guarded:
    """A gateway that refuses calls once ``cancelled`` is set (``RunCancelled``); ``kill()``
    ends the call under way (a sandboxed worker's ``kill``; nothing to kill in-process)."""

    def __init__(self, gateway, cancelled: threading.Event):
        self._gateway, self._cancelled = gateway, cancelled

    def kill(self) -> None:
        if hasattr(self._gateway, "kill"):
            self._gateway.kill()

    def call(self, probe_id: str, *args, **kwargs):
        _refuse_if(self._cancelled)
        return self._gateway.call(probe_id, *args, **kwargs)


class BarRuns:
    """``train(exercise, progress, ahead)`` runs one bar; see the module docstring.

    ``ahead`` is how many runs train side by side (0: this one runs now, in the caller's thread).
    """

    def __init__(self, train: Callable[[str, Progress, int], BarOutcome]):
        self._train = train
        self._runs: dict[str, _Run] = {}
        self._outcomes: dict[str, BarOutcome] = {}
        self._threads: list[threading.Thread] = []
        self._gateways: list[_Guarded] = []
        self._lock = threading.Lock()
        self.cancelled = threading.Event()

    def start(self, exercises: Iterable[str], cores: int | None = None) -> None:
        """Start the runs of ``exercises`` (each once): ``runs_at_once(len(exercises), cores)``
        threads, each taking the next run in this order when its previous one ends."""
        wanted = deque(name for name in dict.fromkeys(exercises) if name not in self._runs and name not in self._outcomes)
        for name in wanted:
            self._runs[name] = _Run()
        at_once = runs_at_once(len(wanted), cores)

        def drive() -> None:
            while True:
                with self._lock:
                    if not wanted:
                        return
                    name = wanted.popleft()
                self._drive(name, self._runs[name], at_once)

        for number in range(at_once if wanted else 0):
            thread = threading.Thread(target=drive, daemon=True, name=f"bar runs {number + 1}/{at_once}")
            self._threads.append(thread)
            thread.start()

    def _drive(self, exercise: str, run: _Run, at_once: int) -> None:
        try:
            _refuse_if(self.cancelled)
            run.outcome = self._train(exercise, run.say, at_once)
        except BaseException as error:  # noqa: BLE001 - handed to the check that waits for it
            run.error = error
        with run.changed:
            run.finished = True
            run.changed.notify_all()

    @property
    def done(self) -> set[str]:
        """The exercises whose run a check has already waited for."""
        return set(self._outcomes)

    def outcome(self, exercise: str, progress: Progress) -> BarOutcome:
        """The run of ``exercise``: waited for (its lines replayed, then live) or run now."""
        if exercise in self._outcomes:
            return self._outcomes[exercise]
        run = self._runs.get(exercise)
        if run is None:
            outcome = self._train(exercise, progress, 0)
        else:
            shown = 0
            while True:
                with run.changed:
                    if shown == len(run.lines) and not run.finished:
                        run.changed.wait(timeout=1.0)  # a timeout: the check's own time limit may fire
                    lines, finished = run.lines[shown:], run.finished
                for line in lines:
                    progress(line)
                shown += len(lines)
                if finished and shown == len(run.lines):
                    break
            if run.error is not None:
                raise run.error
            outcome = run.outcome
        self._outcomes[exercise] = outcome
        return outcome

    def guarded(self, gateway):
        """``gateway`` whose every call first checks that the session has not ended; ``close()``
        kills its worker if a call is still under way then."""
        guarded = _Guarded(gateway, self.cancelled)
        with self._lock:
            self._gateways.append(guarded)
        return guarded

    def close(self) -> None:
        """Stop the runs still training (nobody will wait for them) and wait for their threads."""
        self.cancelled.set()
        if any(thread.is_alive() for thread in self._threads):
            with self._lock:
                gateways = list(self._gateways)
            for gateway in gateways:
                gateway.kill()
        for thread in self._threads:
            thread.join(timeout=CLOSE_WAIT)


__all__ = ["AHEAD_NICE", "BarRuns", "RunCancelled", "ahead_worker_options", "runs_at_once"]
