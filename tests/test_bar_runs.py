"""Accuracy bars started ahead (``grader.checking.bar_runs``): the runs' scheduling, and
the worker options it gives them, applied by real sandboxed workers."""

from __future__ import annotations

import os
import threading
import time

import pytest

from grader.checking.bar_runs import AHEAD_NICE, BarRuns, RunCancelled, ahead_worker_options, runs_at_once
from grader.checking.bar_scoring import BarOutcome
from grader.isolation import staged_worker
from grader.plain import ErrorRecord
from grader.tf_runtime import THREADS_VARIABLE

#: Staged as an exercise module (only those can be called).
READER = b'''import os


def niceness():
    return os.nice(0)


def threads_setting():
    return os.environ.get("COURSE_TF_THREADS", "")
'''


def test_runs_started_ahead_train_side_by_side_and_replay_their_lines():
    both_running = threading.Barrier(2, timeout=20)
    calls = []

    def train(exercise, progress, ahead):
        calls.append((exercise, ahead))
        progress(f"{exercise} started")
        both_running.wait()  # only returns when the other run is training at the same time
        progress(f"{exercise} done")
        return BarOutcome(bar=0.98, passed=exercise == "model", accuracy=0.5)

    runs, heard = BarRuns(train), []
    runs.start(["model", "training", "model"], cores=2)
    first = runs.outcome("training", heard.append)
    assert (first.passed, heard) == (False, ["training started", "training done"])
    assert runs.outcome("model", heard.append).passed
    assert heard[2:] == ["model started", "model done"]
    assert sorted(calls) == [("model", 2), ("training", 2)]  # each once, knowing two run at once
    assert runs.outcome("model", heard.append) is runs.outcome("model", heard.append)
    assert len(calls) == 2 and runs.done == {"model", "training"}


def test_a_run_not_started_ahead_runs_when_asked_and_an_error_reaches_its_check():
    def train(exercise, progress, ahead):
        progress(f"{exercise} now, ahead={ahead}")
        if exercise == "training":
            raise RuntimeError("the grader's own bug")
        return BarOutcome(bar=0.97, passed=True)

    runs, heard = BarRuns(train), []
    assert runs.outcome("keras_model", heard.append).passed
    assert heard == ["keras_model now, ahead=0"]
    runs.start(["training"], cores=2)
    with pytest.raises(RuntimeError, match="the grader's own bug"):
        runs.outcome("training", heard.append)
    assert heard[-1] == "training now, ahead=1"


def test_closing_the_session_cancels_the_calls_of_runs_nobody_waited_for():
    class Gateway:
        def __init__(self):
            self.calls = 0

        def call(self, probe_id, *args, **kwargs):
            self.calls += 1
            return probe_id

    gateway = Gateway()
    runs = BarRuns(lambda *args: BarOutcome(bar=0.98))
    guarded = runs.guarded(gateway)
    assert guarded.call("bars.advance", 10) == "bars.advance"
    runs.close()
    with pytest.raises(RunCancelled, match="ended before this accuracy bar was checked"):
        guarded.call("bars.advance", 10)
    assert gateway.calls == 1


def test_one_run_per_core_at_a_time_in_the_checks_order():
    running, most, order = [0], [0], []
    lock = threading.Lock()

    def train(exercise, progress, ahead):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            order.append(exercise)
        threading.Event().wait(0.2)
        with lock:
            running[0] -= 1
        return BarOutcome(bar=0.98, passed=True)

    runs = BarRuns(train)
    runs.start(["training", "model", "keras_model"], cores=1)
    assert all(runs.outcome(name, print).passed for name in ("keras_model", "model", "training"))
    assert (most[0], order) == (1, ["training", "model", "keras_model"])
    assert (runs_at_once(3, cores=2), runs_at_once(3, cores=16), runs_at_once(2, cores=1)) == (2, 3, 1)


def test_side_by_side_runs_share_the_cores(monkeypatch):
    monkeypatch.delenv(THREADS_VARIABLE, raising=False)
    machine = len(os.sched_getaffinity(0))
    assert ahead_worker_options(2, cores=2) == {"nice": AHEAD_NICE, "tf_threads": "1,1"}
    assert ahead_worker_options(3, cores=16) == {"nice": AHEAD_NICE, "tf_threads": "5,1"}
    assert ahead_worker_options(1, cores=machine) == {"nice": AHEAD_NICE}  # the whole machine: TF's defaults
    if machine > 1:  # a share of the machine (course grade's COURSE_CORES): that many threads
        assert ahead_worker_options(1, cores=1) == {"nice": AHEAD_NICE, "tf_threads": "1,1"}
    monkeypatch.setenv(THREADS_VARIABLE, "2,2")  # the instructor's own setting wins
    assert ahead_worker_options(3, cores=2) == {"nice": AHEAD_NICE}


def test_a_real_worker_applies_the_niceness_and_thread_setting(monkeypatch):
    monkeypatch.delenv(THREADS_VARIABLE, raising=False)
    with staged_worker({"activations.py": READER}, timeout=60) as plain:
        base = plain.call("common.call", "activations", "niceness")["result"]
        assert plain.call("common.call", "activations", "threads_setting")["result"] == ""
    with staged_worker({"activations.py": READER}, timeout=60, **ahead_worker_options(2, cores=2)) as ahead:
        assert ahead.call("common.call", "activations", "niceness")["result"] == min(base + AHEAD_NICE, 19)
        assert ahead.call("common.call", "activations", "threads_setting")["result"] == "1,1"
        assert ahead.sandbox["limits"]["nice"] == f"niceness +{AHEAD_NICE}"


def test_closing_the_session_kills_a_worker_still_training():
    slow = b"def ready():\n    return 1\n\n\ndef slow():\n    import time\n    time.sleep(120)\n"
    calling, seen = threading.Event(), []

    def train(exercise, progress, ahead):
        with staged_worker({"activations.py": slow}, timeout=300) as opened:
            gateway = runs.guarded(opened)
            gateway.call("common.call", "activations", "ready")  # the worker is up
            calling.set()
            seen.append(gateway.call("common.call", "activations", "slow"))
            try:
                gateway.call("common.call", "activations", "slow")
            except RunCancelled as error:
                seen.append(error)
        return BarOutcome(bar=0.98)

    runs = BarRuns(train)
    runs.start(["training"], cores=1)
    assert calling.wait(60)
    time.sleep(1.0)  # the call is under way in the worker
    started = time.monotonic()
    runs.close()
    assert time.monotonic() - started < 10  # not the 120 s the call would take
    assert isinstance(seen[0], ErrorRecord) and isinstance(seen[1], RunCancelled), seen
