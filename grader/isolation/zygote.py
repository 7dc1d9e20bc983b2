"""The worker's side, after lock-down: the zygote and one child per scope.

**One process per exercise.** The worker's main process (the *zygote*, ``serve``) never
imports student code. For each scope (an exercise module, or ``"bar"``; decided by the
parent, ``grader.probes.scope_of``) it forks a child that imports only that module and
runs only that scope's probes (``execute``); when the scope changes, the zygote kills
the child and every other process in the sandbox and empties the writable folders
before forking the next. The zygote is not dumpable (no ``ptrace`` or ``/proc/1/mem``
from the children) and the children never hold the parent's pipes, so code of one
exercise can neither rewrite the zygote nor forge the replies of another exercise.
Forking after TensorFlow's import (no op run yet, one thread) costs milliseconds.

Names student code rebinds in ``builtins``, ``numpy`` or the grader's modules are put
back after every call (``Pristine``) and the reply is flagged ``TAMPERED``; a child left
with stray processes is flagged ``RESTART``.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import shutil
import signal
import sys
from pathlib import Path

from grader import plain
from grader.isolation.frames import (
    HEADER,
    RESTART,
    TAMPERED,
    read_exactly,
    read_frame,
    write_all,
    write_frame,
)
from grader.isolation.protocol import execute
from grader.isolation.sandbox import die_with_parent
from grader.probes import PROBE_FILES, ProbeContext
from grader.target import Target

_PR_SET_DUMPABLE = 4


def _stray_processes(child: int) -> bool:
    """True if processes other than this one and ``child`` live in its PID namespace."""
    if os.getpid() != 1:
        return False
    while True:  # reap orphans re-parented to us (not the child: it is still running)
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
    return any(name.isdigit() and name not in ("1", str(child)) for name in os.listdir("/proc"))


class Pristine:
    """The top-level names of the modules every probe relies on, as they were before any
    student code ran: ``builtins``, ``numpy`` and the grader's own modules.

    Student code runs in the same process as the probes, so it can rebind
    ``builtins.all`` or ``numpy.allclose`` (or replace ``sys.modules["numpy"]``).
    ``restore`` puts every such name back after each call, so a patch made by one
    exercise's code cannot change how the next exercise is probed. Deeper changes (an
    attribute of a class, say) are not undone; they only ever affect this one student.
    """

    def __init__(self):
        import builtins

        import numpy

        modules = [builtins, numpy, *(m for name, m in sys.modules.items() if name.startswith("grader") and m)]
        self.saved = [(module, dict(vars(module))) for module in modules]

    def restore(self) -> bool:
        """Undo rebinding of the saved names and modules; True if anything was changed."""
        changed = False
        for module, names in self.saved:
            if sys.modules.get(module.__name__) is not module:
                sys.modules[module.__name__], changed = module, True
            current = vars(module)
            for key, value in names.items():
                if key not in current or current[key] is not value:
                    current[key], changed = value, True
        return changed


def serve(folder: Path, requests: int, replies: int, sandbox: dict) -> int:
    """The worker's main loop (the zygote): one request in, relayed to its scope's child."""
    for name in PROBE_FILES:  # TensorFlow and the probes load before any student code
        try:
            importlib.import_module(f"grader.probes.{name}")
        except ModuleNotFoundError:
            pass
    ctypes.CDLL(None).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)  # children may not ptrace or read our memory
    if os.path.isfile(f"/proc/self/fd/{sys.stdout.fileno()}"):
        os.ftruncate(sys.stdout.fileno(), 0)  # TensorFlow's start-up notices are not student output
    scratch = [Path.cwd(), Path("/tmp"), Path("/dev/shm")] if "filesystem" in sandbox else []
    zygote = _Zygote(folder, requests, replies, scratch)
    write_frame(replies, json.dumps({"sandbox": sandbox}).encode())
    while (frame := read_frame(requests)) is not None:
        scope, _, request = frame[0].partition(b"\n")
        zygote.forward(scope.decode("ascii", "replace"), request)
    return 0


class _Zygote:
    """Forks one child per scope and relays its replies (see the module docstring)."""

    def __init__(self, folder: Path, requests: int, replies: int, scratch: list[Path]):
        self.folder, self.requests, self.replies, self.scratch = folder, requests, replies, scratch
        self.scope: str | None = None
        self.pid = self.to_child = self.from_child = -1

    def forward(self, scope: str, request: bytes) -> None:
        if scope != self.scope:
            self._end_child()
            self._fork(scope)
        try:
            write_frame(self.to_child, request)
        except BrokenPipeError:
            pass  # it died: the read below says so
        header = read_exactly(self.from_child, HEADER.size, None, None, allow_eof=True)
        if header is None or len(header) < HEADER.size:
            self._mirror_death()
        length, flags = HEADER.unpack(header)
        if _stray_processes(self.pid):
            flags |= RESTART
        os.write(self.replies, HEADER.pack(length, flags))  # the parent checks the length first
        while length:
            chunk = os.read(self.from_child, min(length, 1 << 20))
            if not chunk:
                self._mirror_death()
            write_all(self.replies, chunk)
            length -= len(chunk)

    def _fork(self, scope: str) -> None:
        to_child_read, self.to_child = os.pipe()
        self.from_child, from_child_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never holds the parent's pipes
            code = 70
            try:
                for fd in (self.requests, self.replies, self.to_child, self.from_child):
                    os.close(fd)
                die_with_parent()  # the zygote
                code = _serve_scope(self.folder, to_child_read, from_child_write)
            finally:
                os._exit(code)
        os.close(to_child_read)
        os.close(from_child_write)
        self.scope, self.pid = scope, pid

    def _end_child(self) -> None:
        """Kill the current child and everything else in the sandbox; empty scratch folders."""
        if self.pid <= 0:
            return
        for fd in (self.to_child, self.from_child):
            os.close(fd)
        _kill(self.pid)
        if os.getpid() == 1:
            os.kill(-1, signal.SIGKILL)  # PID 1 of its namespace: every other process in it
        _reap()
        for folder in self.scratch:
            _empty(folder)
        self.scope, self.pid = None, -1

    def _mirror_death(self) -> None:
        """The child died mid-call: exit with its status, so the parent sees why."""
        _, status = os.waitpid(self.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        os._exit(code if code >= 0 else 128 - code)


def _serve_scope(folder: Path, requests: int, replies: int) -> int:
    """A scope's child: run probes against the student's modules, one reply per request."""
    ctx = ProbeContext(Target(folder))
    pristine = Pristine()
    while (frame := read_frame(requests)) is not None:
        try:
            reply = execute(ctx, frame[0].decode())
        except BaseException as error:  # noqa: BLE001 - KeyboardInterrupt from student code
            reply = plain.encode({"value": plain.error_record(error)})
        write_frame(replies, reply.encode(), TAMPERED if pristine.restore() else 0)
    return 0


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reap() -> None:
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _empty(folder: Path) -> None:
    """Remove everything inside ``folder`` (same user: permissions are put back first)."""
    def retry(function, path, _):
        try:
            os.chmod(os.path.dirname(path), 0o700)
            os.chmod(path, 0o700)
            function(path)
        except OSError:
            pass

    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, onerror=retry)
        else:
            try:
                entry.unlink()
            except OSError:
                pass
