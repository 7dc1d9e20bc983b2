"""``WorkerGateway``: run probes in a locked-down child process (``--isolate``, bulk grading).

The grading process (parent) starts ``python -m grader.worker CONFIG REQUEST_FD REPLY_FD``.
The child locks itself down first (``grader.sandbox``: namespaces, jail, limits,
unprivileged user), imports TensorFlow and the probes, says it is ready, then loops:
read one request, hand it to the process that runs its **scope**, relay the reply.
Requests and replies are frames (``length, flags, payload``) on two private pipes; a
request's payload is ``scope`` and a newline before its JSON. The worker's stdout and
stderr go to a log file in its private folder, so student prints can neither corrupt
nor block the protocol.

**One process per exercise.** The worker's main process (the *zygote*) never imports
student code. For each scope (an exercise module, or ``"bar"``; decided by the parent,
``grader.probes.scope_of``) it forks a child that imports only that module and runs
only that scope's probes; when the scope changes, the zygote kills the child and every
other process in the sandbox and empties the writable folders before forking the next.
The zygote is not dumpable (no ``ptrace`` or ``/proc/1/mem`` from the children) and the
children never hold the parent's pipes, so code of one exercise can neither rewrite the
zygote nor forge the replies of another exercise. Forking after TensorFlow's import
(no op run yet, one thread) costs milliseconds.

The parent enforces, for every call: a wall-clock limit (``timeout``; the accuracy
bars pass a longer one), the probe's reply budget (``grader.probes.reply_limit``: bytes
checked from the frame header before reading, elements before decoding) and a cap on
the output printed during the call (``FLOOD_BYTES``). A breach, or the worker dying,
kills the worker's whole process group (its PID namespace dies with it) and the call
returns an ``ErrorRecord`` whose type is ``WorkerTimeout``, ``WorkerMemory``,
``WorkerDied``, ``OutputFlood``, ``ReplyTooLarge`` or ``ProtocolError``; the next call
starts a fresh worker. A worker left with stray processes (a fork bomb) is replaced
after its reply; names student code rebinds in ``builtins``, ``numpy`` or the grader's
modules are put back after every call (``_Pristine``). Only ``plain.decode`` is ever
applied to what the child sends, and nothing the worker reports is trusted beyond what
a check verifies.

Defaults can be set through the environment (the bulk grader does so for the pytest
runs it starts): ``COURSE_WORKER_TIMEOUT`` (seconds per call), ``COURSE_WORKER_MEMORY_MB``
and ``COURSE_WORKER_INCIDENTS`` (a JSON-lines file where every fault, every worker's
sandbox record and peak memory are appended, for the bulk grader's statuses).
"""

import sys

if __name__ == "__main__":  # the child: lock down before anything imports NumPy (threads)
    from grader.sandbox import Config, lock_down

    _CONFIG = Config.from_json(sys.argv[1])
    if _CONFIG.cgroup:  # into the worker's cgroup before anything is allocated; children inherit it
        from grader.cgroup import join

        try:
            join(_CONFIG.cgroup)
        except OSError as error:
            sys.stderr.write(f"cannot join the worker's cgroup: {error}\n")
            sys.exit(71)
    _SANDBOX = lock_down(_CONFIG)

import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import select  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from grader import plain  # noqa: E402
from grader.cgroup import CgroupUnavailable, WorkerCgroup  # noqa: E402
from grader.gateway import Gateway, encode_request, execute  # noqa: E402
from grader.plain import ErrorRecord  # noqa: E402
from grader.probes import ProbeContext, reply_limit, scope_of  # noqa: E402
from grader.sandbox import Config, Limits, Workspace, die_with_parent  # noqa: E402
from grader.target import Target  # noqa: E402
from grader.tf_runtime import QUIET_ENV  # noqa: E402

ENV_TIMEOUT, ENV_MEMORY, ENV_INCIDENTS = "COURSE_WORKER_TIMEOUT", "COURSE_WORKER_MEMORY_MB", "COURSE_WORKER_INCIDENTS"
#: Seconds one call into student code may take unless the caller passes ``timeout``.
DEFAULT_TIMEOUT = 30.0
#: Seconds a worker may take to lock down and import TensorFlow.
STARTUP_TIMEOUT = 240.0
#: Output a single call may print before the worker is stopped as flooding.
FLOOD_BYTES = 16 << 20
#: The log is emptied after a call once it is larger than this.
LOG_KEEP_BYTES = 1 << 20
_HEADER = struct.Struct(">QB")  # payload length, flags
_RESTART = 1  # reply flag: the worker has stray processes, replace it
_TAMPERED = 2  # reply flag: student code rebound builtins/numpy/grader names (restored)
_TICK = 0.2


class WorkerFault(Exception):
    """The worker misbehaved; ``kind`` becomes the ``ErrorRecord`` type."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message


# -- frames -------------------------------------------------------------------------------

def write_frame(fd: int, payload: bytes, flags: int = 0, deadline: float | None = None) -> None:
    """Write one frame; with a ``deadline`` the fd must be non-blocking."""
    data = memoryview(_HEADER.pack(len(payload), flags) + payload)
    while data:
        if deadline is not None:
            _wait(fd, deadline, writable=True)
        try:
            data = data[os.write(fd, data):]
        except BlockingIOError:
            continue


def read_frame(fd: int, deadline: float | None = None, limit: int | None = None,
               watch=None) -> tuple[bytes, int] | None:
    """One frame ``(payload, flags)``; ``None`` at end of file before a frame starts."""
    header = _read_exactly(fd, _HEADER.size, deadline, watch, allow_eof=True)
    if header is None:
        return None
    length, flags = _HEADER.unpack(header)
    if limit is not None and length > limit:
        raise WorkerFault("ReplyTooLarge", f"the reply would be {length} bytes (limit {limit}); "
                                           "return a smaller result")
    return _read_exactly(fd, length, deadline, watch), flags


def _read_exactly(fd, size, deadline, watch, allow_eof=False) -> bytes | None:
    chunks, left = [], size
    while left:
        if deadline is not None:
            _wait(fd, deadline, watch=watch)
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            if allow_eof and left == size:
                return None
            raise EOFError("the worker closed its reply pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _wait(fd: int, deadline: float, writable: bool = False, watch=None) -> None:
    """Block until ``fd`` is ready, calling ``watch()`` every tick; fault at the deadline."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise WorkerFault("WorkerTimeout", "")
        readers, writers = ([], [fd]) if writable else ([fd], [])
        if any(select.select(readers, writers, [], min(left, _TICK))):
            return
        if watch:
            watch()


# -- the parent's handle on one worker process ---------------------------------------------

class _Worker:
    """One running worker: start it, call it, stop it."""

    def __init__(self, folder: Path, limits: Limits, use_namespaces: bool):
        self.space = Workspace.create(folder)
        self.limits = limits
        self.peak_rss_kb = 0
        self.sandbox: dict | None = None
        self.stopped = False
        self.call_output_start = 0  # log offset where the current call's output begins
        self.cgroup_record: dict | None = None
        try:  # a memory cgroup charges what RLIMIT_DATA misses: shared memory, memfds, tmpfs
            self.cgroup, self.cgroup_missing = WorkerCgroup.create(limits.memory_mb, limits.processes), None
        except CgroupUnavailable as error:
            self.cgroup, self.cgroup_missing = None, error.reason
        request_read, self.requests = os.pipe()
        self.replies, reply_write = os.pipe()
        config = Config(str(self.space.folder), limits.__dict__, self.space.uid, self.space.gid,
                        os.getpid(), use_namespaces, cgroup=self.cgroup.join_spec() if self.cgroup else [])
        try:
            with open(self.space.log, "ab") as log:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "grader.worker", config.to_json(), str(request_read), str(reply_write)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    pass_fds=(request_read, reply_write), cwd=self.space.folder,
                    env=_worker_environment(self.space), start_new_session=True)
        except BaseException:
            if self.cgroup:
                self.cgroup.remove()
            raise
        os.close(request_read)
        os.close(reply_write)
        os.set_blocking(self.requests, False)
        try:
            ready, _ = self._receive(time.monotonic() + STARTUP_TIMEOUT, "starting the worker",
                                     f"{STARTUP_TIMEOUT:g} s")
        except BaseException:
            self.stop()
            raise
        self.sandbox = json.loads(ready)["sandbox"]
        if not isinstance(self.sandbox, dict) or not isinstance(self.sandbox.get("not_applied"), dict):
            self.stop()
            raise WorkerFault("ProtocolError", "the worker's start-up record is not what the sandbox writes")
        if self.cgroup:
            self.sandbox["cgroup"] = self.cgroup.describe()
        else:
            self.sandbox["not_applied"]["cgroup"] = self.cgroup_missing

    def call(self, request: bytes, timeout: float, what: str, max_bytes: int) -> tuple[bytes, int]:
        """Send ``request``; return ``(reply, flags)`` or raise ``WorkerFault``."""
        deadline = time.monotonic() + timeout
        try:
            write_frame(self.requests, request, deadline=deadline)
        except (BrokenPipeError, WorkerFault):
            pass  # it died or hangs: the read below says which
        reply, flags = self._receive(deadline, what, f"{timeout:g} s", max_bytes)
        if self._log_size() > LOG_KEEP_BYTES:
            os.truncate(self.space.log, 0)
        return reply, flags

    def _receive(self, deadline: float, what: str, limit: str,
                 max_bytes: int = plain.MAX_MESSAGE_BYTES) -> tuple[bytes, int]:
        self.call_output_start = start = self._log_size()

        def watch():
            if self._log_size() - start > FLOOD_BYTES:
                raise WorkerFault("OutputFlood", f"{what} printed more than {FLOOD_BYTES >> 20} MB; "
                                                 "remove the print calls in loops")

        try:
            frame = read_frame(self.replies, deadline, max_bytes, watch)
        except WorkerFault as fault:
            if fault.kind == "WorkerTimeout":
                fault.message = f"{what} did not finish within the time limit ({limit})"
            raise
        except EOFError:
            frame = None
        if frame is None:
            raise self._death(what)
        watch()  # a fast flood may have ended (at the file size limit) between two ticks
        return frame

    def _death(self, what: str) -> WorkerFault:
        """Why the worker died while ``what`` ran, from its exit status and last output."""
        code = self.stop(grace=5.0)
        tail = _clean(self._last_output)
        if self.sandbox is None:
            return WorkerFault("WorkerDied", f"the worker could not start (exit status {code}): {tail[-1500:]}")
        if self.cgroup_record and self.cgroup_record.get("out_of_memory"):
            return WorkerFault("WorkerMemory", f"{what} ran out of memory (the limit is {self.limits.memory_mb} MB, "
                                               "shared memory, memfds and tmpfs files included)")
        if re.search(r"bad_alloc|MemoryError|Cannot allocate memory|Resource exhausted", tail):
            return WorkerFault("WorkerMemory", f"{what} ran out of memory (MemoryError: the limit is "
                                               f"{self.limits.memory_mb} MB)")
        if code == 128 + signal.SIGXCPU:
            return WorkerFault("WorkerTimeout", f"{what} used up the worker's {self.limits.cpu_seconds} s of CPU time")
        if code > 128:
            name = signal.Signals(code - 128).name if code - 128 in signal.valid_signals() else f"signal {code - 128}"
            hints = {"SIGSEGV": " (a recursion too deep?)", "SIGKILL": " (out of CPU time or memory?)"}
            reason = f"was killed by {name}{hints.get(name, '')}"
        else:
            reason = f"exited with code {code} (sys.exit or os._exit in your code?)"
        last = f"; its last output: {tail[-300:]}" if tail else ""
        return WorkerFault("WorkerDied", f"the worker {reason} while running {what}{last}")

    def stop(self, grace: float = 0.0) -> int:
        """Kill the worker's process group after ``grace`` seconds; remove its folder.

        Closing the request pipe first lets an idle worker exit by itself, so a normal
        close still records the peak memory of the PID namespace's main process.
        """
        if not self.stopped:
            self.stopped = True
            os.close(self.requests)
            end = time.monotonic() + grace
            while time.monotonic() < end and self._exited() is None:
                time.sleep(0.02)
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if self.cgroup:
                self.cgroup.kill_all()
            _, status, usage = os.wait4(self.process.pid, 0)
            if self.cgroup:
                self.cgroup_record = self.cgroup.describe()
                self.cgroup.remove()
            code = os.waitstatus_to_exitcode(status)
            self.process.returncode = 128 - code if code < 0 else code
            self.peak_rss_kb = usage.ru_maxrss
            self._last_output = self._log_tail()
            os.close(self.replies)
            self.space.remove()
        return self.process.returncode

    def _exited(self):
        return os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)

    def _log_size(self) -> int:
        try:
            return self.space.log.stat().st_size
        except OSError:
            return 0

    def _log_tail(self, size: int = 2000) -> str:
        """The end of what the worker printed during the current call."""
        try:
            with open(self.space.log, "rb") as log:
                log.seek(max(self.call_output_start, self._log_size() - size))
                return log.read().decode("utf-8", "replace")
        except OSError:
            return ""


def _worker_environment(space: Workspace) -> dict[str, str]:
    """A minimal environment: no secrets, no proxies, home and temp in the sandbox."""
    import grader

    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(space.work), "TMPDIR": "/tmp", "LANG": "C.UTF-8",
        "PYTHONPATH": str(Path(grader.__file__).resolve().parent.parent),
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
        **QUIET_ENV, "CUDA_VISIBLE_DEVICES": "", "KERAS_HOME": str(space.work / ".keras"),
        "MPLCONFIGDIR": str(space.work),
    }


#: TensorFlow's own log lines (absl format), not the student's output.
_TF_LOG = re.compile(r"^([IWEF]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] .*|WARNING: All log messages before absl.*)$", re.M)


def _clean(text: str) -> str:
    """Output as plain text: colours, control characters and TensorFlow's log lines removed."""
    text = re.sub(r"\x1b\[[0-9;]*m|[^\x09\x0a\x20-\x7e\u00a0-\uffff]", "", text)
    return re.sub(r"\n\s*\n", "\n", _TF_LOG.sub("", text)).strip()


def _describe_call(probe_id: str, args: tuple) -> str:
    """``activations.relu`` for a plain call, else the probe's id."""
    if probe_id == "common.call" and len(args) >= 2:
        return f"{args[0]}.{args[1]}"
    return probe_id


# -- the gateway ---------------------------------------------------------------------------

class WorkerGateway(Gateway):
    """Probes run in a sandboxed worker process; see the module docstring."""

    def __init__(self, target: Target, timeout: float | None = None, memory_mb: int | None = None,
                 cpu_seconds: int | None = None, file_mb: int | None = None, processes: int | None = None,
                 incidents: str | os.PathLike | None = None, use_namespaces: bool = True):
        defaults = Limits()
        self.folder = Path(target.folder)
        self.timeout = float(timeout or os.environ.get(ENV_TIMEOUT) or DEFAULT_TIMEOUT)
        self.limits = Limits(
            memory_mb=int(memory_mb or os.environ.get(ENV_MEMORY) or defaults.memory_mb),
            cpu_seconds=cpu_seconds or defaults.cpu_seconds,
            file_mb=file_mb or defaults.file_mb,
            processes=processes or defaults.processes,
        )
        self.incidents = incidents or os.environ.get(ENV_INCIDENTS)
        self.use_namespaces = use_namespaces
        self.sandbox: dict | None = None  # what the last worker reported it applied
        self._worker: _Worker | None = None

    def run(self, probe_id: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        what = _describe_call(probe_id, args)
        scope, limit = scope_of(probe_id, args), reply_limit(probe_id)
        request = scope.encode() + b"\n" + encode_request(probe_id, args, kwargs).encode()
        try:
            worker = self._started()
            reply, flags = worker.call(request, timeout or self.timeout, what, limit.max_bytes)
        except WorkerFault as fault:
            return self._fault(fault, probe_id, what)
        except BaseException:  # pytest-timeout, Ctrl-C: the worker's state is unknown
            self._note({"event": "fault", "type": "WorkerTimeout", "probe": probe_id, "call": what,
                        "message": "interrupted by the check's own time limit"})
            self._discard()
            raise
        if flags & _TAMPERED:
            self._note({"event": "tampering", "probe": probe_id, "call": what})
        if flags & _RESTART:
            self._note({"event": "stray_processes", "probe": probe_id, "call": what})
            self._discard(grace=2.0)
        try:
            value = plain.decode(reply, limit.max_bytes, limit.max_elements)["value"]
        except (ValueError, KeyError, TypeError) as error:
            return self._fault(WorkerFault("ProtocolError", f"{what}: the worker's reply is not plain data "
                                                            f"({error})"), probe_id, what)
        if isinstance(value, ErrorRecord) and value.is_a("MemoryError"):
            self._note({"event": "fault", "type": "MemoryError", "probe": probe_id, "call": what,
                        "message": value.message})
        return value

    def close(self) -> None:
        self._discard(grace=2.0)

    def _started(self) -> _Worker:
        if self._worker is None:
            self._worker = _Worker(self.folder, self.limits, self.use_namespaces)
            self.sandbox = self._worker.sandbox
        return self._worker

    def _fault(self, fault: WorkerFault, probe_id: str, what: str) -> ErrorRecord:
        self._discard()
        self._note({"event": "fault", "type": fault.kind, "probe": probe_id, "call": what, "message": fault.message})
        return ErrorRecord(fault.kind, fault.message)

    def _discard(self, grace: float = 0.0) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop(grace)
            self._note({"event": "worker", "sandbox": worker.sandbox,
                        "peak_rss_mb": round(worker.peak_rss_kb / 1024, 1),
                        "peak_mb": (worker.cgroup_record or {}).get("peak_mb")})

    def _note(self, event: dict) -> None:
        if self.incidents:
            with open(self.incidents, "a") as stream:
                stream.write(json.dumps(event) + "\n")


# -- the child -------------------------------------------------------------------------------

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


class _Pristine:
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


_PR_SET_DUMPABLE = 4


def serve(folder: Path, requests: int, replies: int, sandbox: dict) -> int:
    """The worker's main loop (the zygote): one request in, relayed to its scope's child."""
    import ctypes
    import importlib

    from grader.probes import PROBE_FILES

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
        header = _read_exactly(self.from_child, _HEADER.size, None, None, allow_eof=True)
        if header is None or len(header) < _HEADER.size:
            self._mirror_death()
        length, flags = _HEADER.unpack(header)
        if _stray_processes(self.pid):
            flags |= _RESTART
        os.write(self.replies, _HEADER.pack(length, flags))  # the parent checks the length first
        while length:
            chunk = os.read(self.from_child, min(length, 1 << 20))
            if not chunk:
                self._mirror_death()
            _write_all(self.replies, chunk)
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
    pristine = _Pristine()
    while (frame := read_frame(requests)) is not None:
        try:
            reply = execute(ctx, frame[0].decode())
        except BaseException as error:  # noqa: BLE001 - KeyboardInterrupt from student code
            reply = plain.encode({"value": plain.error_record(error)})
        write_frame(replies, reply.encode(), _TAMPERED if pristine.restore() else 0)
    return 0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


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


if __name__ == "__main__":
    sys.exit(serve(Path(_CONFIG.folder) / "submission", int(sys.argv[2]), int(sys.argv[3]), _SANDBOX))
