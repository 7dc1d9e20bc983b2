"""Grading runs (``python -m pytest grader/ ...``) forked from a warm process.

A grading run spends its first seconds importing TensorFlow, Keras, pytest and the
checks, the same for every student. ``WarmGrader`` starts one server process,
``python -m grader.warm_grader``, that imports all of it once and then forks one child per
run: the child sets the run's folder, environment and output file, runs
``pytest.main(args)`` and exits with its code. So a class (or a corpus) pays for the
imports once instead of once per submission.

Trust: the server and its children are grading processes, which never run student code
(with ``--isolate`` student code runs only in the sandboxed workers a child starts, each
a fresh process as before). Without ``--isolate`` a child imports the submission itself,
as ``pytest grader/`` always does; the server is never touched by it, so the next child
starts clean. The server imports no student code and runs no TensorFlow op before it
forks (its thread pools start in each child).

Protocol: one JSON request per line on the server's stdin (``id``, ``args``, ``cwd``,
``env``, ``output``); per request two JSON lines on its stdout, ``{"id", "pid"}`` after the
fork and ``{"id", "exit"}`` (``os.waitstatus_to_exitcode``) when the child ends. The
server is single-threaded (``select`` plus ``waitpid``), so forking is safe. The children
stay in the caller's process group, so Ctrl-C interrupts them as it would a plain
``pytest`` (the server ignores it); every child dies with the server
(``PR_SET_PDEATHSIG``), and when its stdin closes (``close()``, or the client died) the
server kills the runs still going and exits. (The server itself has no
``PR_SET_PDEATHSIG``: that would tie it to the client's thread that started it, not to the
client.)
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Mapping

from grader.errors import CourseError
from grader.isolation.sandbox import die_with_parent

#: How often the server looks for children that ended (seconds).
_REAP_INTERVAL = 0.05


class ServerGone(CourseError, RuntimeError):
    """The warm grader's server process ended."""


class ForkedRun:
    """One grading run forked by the server: ``pid``, ``returncode``, ``wait``,
    ``send_signal`` and ``kill``, like ``subprocess.Popen``."""

    def __init__(self):
        self._started, self._ended = threading.Event(), threading.Event()
        self.pid: int | None = None
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired(f"grading run {self.pid}", timeout)
        return self.returncode

    def send_signal(self, signal_number: int) -> None:
        if self.returncode is None and self.pid:
            try:
                os.kill(self.pid, signal_number)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class WarmGrader:
    """A server process that imported the grader once; ``start(...)`` forks a run."""

    def __init__(self):
        from grader.paths import REPO_ROOT
        from grader.tf_runtime import quiet_environment

        self._process = subprocess.Popen([sys.executable, "-m", "grader.warm_grader"], cwd=REPO_ROOT,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                         env=quiet_environment(PYTHONDONTWRITEBYTECODE="1"))
        self._runs: dict[int, ForkedRun] = {}
        self._lock = threading.Lock()
        self._next = 0
        self._reader = threading.Thread(target=self._read_replies, daemon=True)
        self._reader.start()

    def start(self, args: list[str], cwd: Path, env: Mapping[str, str], output: Path) -> ForkedRun:
        """Fork ``pytest.main(args)`` in ``cwd`` with environment ``env``, stdout and
        stderr to ``output``; returns once the child exists."""
        with self._lock:
            self._next += 1
            run = self._runs[self._next] = ForkedRun()
            request = {"id": self._next, "args": list(args), "cwd": str(cwd), "env": dict(env),
                       "output": str(output)}
            try:
                self._process.stdin.write(json.dumps(request) + "\n")
                self._process.stdin.flush()
            except (BrokenPipeError, ValueError) as error:
                raise ServerGone(f"the warm grader's server ended ({error})") from None
        run._started.wait()
        if run.pid is None:
            raise ServerGone("the warm grader's server ended before forking the run")
        return run

    def _read_replies(self) -> None:
        for line in self._process.stdout:
            reply = json.loads(line)
            run = self._runs.get(reply["id"])
            if run is None:
                continue
            if "pid" in reply:
                run.pid = reply["pid"]
                run._started.set()
            else:
                run.returncode = reply["exit"]
                run._ended.set()
                with self._lock:
                    self._runs.pop(reply["id"], None)
        with self._lock:  # the server is gone: so are its children (PR_SET_PDEATHSIG)
            for run in self._runs.values():
                run.returncode = -9 if run.returncode is None else run.returncode
                run._started.set()
                run._ended.set()
            self._runs.clear()

    @property
    def alive(self) -> bool:
        """Whether the server is still running (it can be killed from outside)."""
        return self._process.poll() is None

    def close(self) -> None:
        """End the server (and any run still going: call this once the runs are done)."""
        try:
            self._process.stdin.close()
        except OSError:
            pass
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> "WarmGrader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- the server -------------------------------------------------------------------------

def _preload() -> None:
    """Import what every grading run imports: TensorFlow, Keras, pytest, the checks."""
    import importlib

    import pytest  # noqa: F401

    from grader.tf_runtime import import_tensorflow

    import_tensorflow()
    import keras  # noqa: F401

    import grader.plugin  # noqa: F401

    for check in sorted(Path(__file__).resolve().parent.glob("test_*.py")):
        importlib.import_module(f"grader.{check.stem}")


def _child(request: dict) -> None:
    """In the forked child: become the run, then exit with pytest's code (never returns)."""
    code = 70
    try:
        die_with_parent()
        signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C interrupts a run
        output = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        os.close(null)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        import tempfile

        tempfile.tempdir = None  # TMPDIR is the run's
        import pytest

        code = int(pytest.main(request["args"]))
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # noqa: BLE001 - report, then exit
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _serve() -> None:
    # Ctrl-C reaches the runs (same process group: pytest stops and says so), not the server.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _preload()
    children: dict[int, int] = {}  # pid -> request id
    requests = sys.stdin.buffer
    pending = b""
    while True:
        if select.select([requests], [], [], _REAP_INTERVAL)[0]:
            chunk = os.read(requests.fileno(), 1 << 16)
            if not chunk:  # the client closed us, or died: so do the runs it started
                _end(children)
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                sys.stdout.flush()
                pid = os.fork()
                if pid == 0:
                    _child(request)
                children[pid] = request["id"]
                _reply({"id": request["id"], "pid": pid})
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            if pid in children:
                _reply({"id": children.pop(pid), "exit": os.waitstatus_to_exitcode(status)})


def _end(children: dict[int, int]) -> None:
    """Kill the runs still going and reap every child."""
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for pid in children:
        os.waitpid(pid, 0)


def _reply(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    _serve()
