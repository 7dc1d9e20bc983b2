"""The grading process's side of a worker: ``WorkerProcess`` and ``WorkerGateway``.

``WorkerGateway`` runs probes in a locked-down child process (``--isolate``, bulk
grading): it starts ``python -m grader.isolation.worker_main CONFIG REQUEST_FD REPLY_FD``
(see ``grader.isolation.worker_main`` for the child's side), sends each call as a frame
(``grader.isolation.frames``) whose payload is the call's **scope** and a newline before
its JSON request, and decodes each reply with ``plain.decode`` only. The worker's stdout
and stderr go to a log file in its private folder, so student prints can neither corrupt
nor block the protocol.

The parent enforces, for every call: a wall-clock limit (``timeout``; the accuracy
bars pass a longer one), the probe's reply budget (``grader.probes.reply_limit``: bytes
checked from the frame header before reading, elements before decoding) and a cap on
the output printed during the call (``FLOOD_BYTES``). A breach, or the worker dying,
kills the worker's whole process group (its PID namespace dies with it) and the call
returns an ``ErrorRecord`` whose type is ``WorkerTimeout``, ``WorkerMemory``,
``WorkerDied``, ``OutputFlood``, ``ReplyTooLarge`` or ``ProtocolError``; the next call
starts a fresh worker. A worker left with stray processes (a fork bomb) is replaced
after its reply. Nothing the worker reports is trusted beyond what a check verifies.

Limits come from the caller (the pytest plugin's ``--worker-timeout``, ``--worker-memory``
and ``--worker-incidents``: a JSON-lines file where every fault, every worker's sandbox
record and peak memory are appended, for the bulk grader's statuses).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from grader import plain
from grader.isolation.cgroup import CgroupUnavailable, WorkerCgroup
from grader.isolation.frames import (
    RESTART,
    TAMPERED,
    WorkerFault,
    read_frame,
    write_frame,
)
from grader.isolation.protocol import Gateway, encode_request
from grader.isolation.sandbox import Config, Limits, Workspace
from grader.plain import ErrorRecord
from grader.probes import reply_limit, scope_of
from grader.target import Target
from grader.tf_runtime import QUIET_ENV, thread_environment

#: Seconds one call into student code may take unless the caller passes ``timeout``.
DEFAULT_TIMEOUT = 30.0
#: Seconds a worker may take to lock down and import TensorFlow.
STARTUP_TIMEOUT = 240.0
#: Output a single call may print before the worker is stopped as flooding.
FLOOD_BYTES = 16 << 20
#: The log is emptied after a call once it is larger than this.
LOG_KEEP_BYTES = 1 << 20


class WorkerProcess:
    """One running worker: start it, call it, stop it."""

    def __init__(self, folder: Path, limits: Limits, use_namespaces: bool, tf_threads: str | None = None):
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
                    [sys.executable, "-m", "grader.isolation.worker_main", config.to_json(), str(request_read), str(reply_write)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    pass_fds=(request_read, reply_write), cwd=self.space.folder,
                    env=_worker_environment(self.space, tf_threads), start_new_session=True)
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


def _worker_environment(space: Workspace, tf_threads: str | None = None) -> dict[str, str]:
    """A minimal environment: no secrets, no proxies, home and temp in the sandbox;
    TensorFlow's threads as ``tf_threads`` ("INTRA,INTER") says, else as the grading process's."""
    import grader

    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(space.work), "TMPDIR": "/tmp", "LANG": "C.UTF-8",
        "PYTHONPATH": str(Path(grader.__file__).resolve().parent.parent),
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
        **QUIET_ENV, **thread_environment(tf_threads), "CUDA_VISIBLE_DEVICES": "", "KERAS_HOME": str(space.work / ".keras"),
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


class WorkerGateway(Gateway):
    """Probes run in a sandboxed worker process; see the module docstring."""

    def __init__(self, target: Target, timeout: float | None = None, memory_mb: int | None = None,
                 cpu_seconds: int | None = None, file_mb: int | None = None, processes: int | None = None,
                 incidents: str | os.PathLike | None = None, use_namespaces: bool = True, nice: int = 0,
                 tf_threads: str | None = None):
        defaults = Limits()
        self.folder = Path(target.folder)
        self.timeout = float(timeout or DEFAULT_TIMEOUT)
        self.limits = Limits(
            memory_mb=int(memory_mb or defaults.memory_mb),
            cpu_seconds=cpu_seconds or defaults.cpu_seconds,
            file_mb=file_mb or defaults.file_mb,
            processes=processes or defaults.processes,
            nice=nice,
        )
        self.tf_threads = tf_threads  # COURSE_TF_THREADS for the worker (else the grading process's)
        self.incidents = incidents
        self.use_namespaces = use_namespaces
        self.sandbox: dict | None = None  # what the last worker reported it applied
        self._worker: WorkerProcess | None = None

    def call(self, probe_id: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
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
        if flags & TAMPERED:
            self._note({"event": "tampering", "probe": probe_id, "call": what})
        if flags & RESTART:
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

    def kill(self) -> None:
        """Kill the running worker from another thread: the call waiting on it (in its own
        thread) then ends as a ``WorkerDied`` fault, which removes the worker as usual."""
        worker = self._worker
        if worker is not None and not worker.stopped:
            try:
                os.killpg(worker.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _started(self) -> WorkerProcess:
        if self._worker is None:
            self._worker = WorkerProcess(self.folder, self.limits, self.use_namespaces, self.tf_threads)
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
