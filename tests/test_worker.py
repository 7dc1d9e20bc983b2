"""The sandboxed worker (``grader.isolation``: worker handle, zygote, sandbox), with real processes.

One gateway serves the whole module (a worker start imports TensorFlow, ~5 s); the
tests that kill it also check that the next call gets a fresh worker.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import time
from pathlib import Path

import numpy as np
import pytest
from grader.isolation.worker_handle import FLOOD_BYTES, WorkerGateway

from grader import plain
from grader.isolation.sandbox import UID_BASE
from grader.paths import MNIST_PATH, REPO_ROOT, SOLUTIONS_DIR
from grader.plain import ErrorRecord
from grader.probes import reply_limit
from grader.target import Target
from tests.conftest import run_grader

CALL_TIMEOUT = 4.0

HOSTILE = '''
import ctypes, os, socket, subprocess, sys, time
import numpy as np


def relu(x):
    return np.maximum(x, 0)


def chatty(x):
    print("hello from the student " * 1000)
    os.write(1, b"raw bytes on fd 1 \\x00\\xff\\n")
    os.write(2, b"and on fd 2\\n")
    sys.stdout.flush()
    return np.maximum(x, 0)


def loop(x):
    while True:
        pass


def exit_now(x):
    os._exit(3)


def segfault(x):
    return ctypes.string_at(0)


def flood(x):
    while True:
        print("spam" * 1000)


def allocate(x):
    return np.ones(50 * 10**9 // 8)


def big(x):
    return np.zeros(x, np.uint8)


def connect(host):
    with socket.create_connection((host, 80), timeout=2):
        return "connected"


def write(path):
    with open(path, "w") as stream:
        stream.write("written by the student")
    return "written"


def read(path):
    with open(path, "rb") as stream:
        return len(stream.read())


def whoami(x):
    return {"uid": os.getuid(), "cwd": os.getcwd(), "pid": os.getpid(), "root": sorted(os.listdir("/")),
            "env": sorted(os.environ)}


def tamper(x):
    import builtins
    builtins.all = lambda iterable: True
    np.allclose = lambda *args, **kwargs: True
    sys.modules["numpy"] = None
    return 0


def pristine(x):
    import builtins
    import numpy
    return [builtins.all([False]), bool(numpy.allclose(1, 2))]


def memfd_bomb(count):
    """Shared memory RLIMIT_DATA does not count: memfds of 60 MB, written."""
    keep = []
    for _ in range(count):
        fd = os.memfd_create("hog")
        os.write(fd, b"x" * (60 << 20))
        keep.append(fd)
    return len(keep)


def reply_bomb(size):
    """Write a frame of ``[[],[],...]`` straight to every pipe this process may write."""
    import fcntl, struct
    body = b'{"value":[' + b"[]," * (size // 3) + b'[]]}'
    frame = struct.pack(">QB", len(body), 0) + body
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if os.path.realpath(f"/proc/self/fd/{name}").startswith("pipe:") or "pipe" in os.readlink(
                    f"/proc/self/fd/{name}"):
                if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:
                    os.write(fd, frame)
        except OSError:
            pass
    time.sleep(60)


def spawn(limit):
    started = []
    try:
        while len(started) < limit:
            started.append(subprocess.Popen(["sleep", "600"]))
    except OSError:
        pass
    return len(started)
'''


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hostile")
    (path / "activations.py").write_text(HOSTILE)
    return path


@pytest.fixture(scope="module")
def incidents(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("incidents") / "incidents.jsonl"


@pytest.fixture(scope="module")
def gateway(folder, incidents):
    gateway = WorkerGateway(Target(folder), timeout=CALL_TIMEOUT, processes=64, incidents=incidents)
    yield gateway
    gateway.close()


def call(gateway, function, *args):
    return gateway.call("common.call", "activations", function, *args)


def sandbox_applies(gateway, feature: str) -> None:
    """Skip unless the worker reported ``feature`` (this machine may not allow it)."""
    call(gateway, "relu", np.zeros(1))
    if feature not in gateway.sandbox:
        pytest.skip(f"not available here: {gateway.sandbox['not_applied']}")


def test_a_probe_round_trips_through_the_worker(gateway):
    x = np.array([[-1.5, 2.0], [0.0, -3.0]])
    reply = call(gateway, "relu", x)
    assert isinstance(reply["result"], np.ndarray) and np.array_equal(reply["result"], np.maximum(x, 0))
    assert reply["mutated"] == [False] and reply["type"] == "numpy.ndarray"
    assert {"limits", "not_applied"} <= set(gateway.sandbox)
    assert "RLIMIT_DATA" in gateway.sandbox["limits"] and "RLIMIT_CPU" in gateway.sandbox["limits"]


def test_an_error_crosses_with_its_class_hierarchy(gateway):
    """NumPy's UFuncTypeError counts as the TypeError it is (``ErrorRecord.is_a``)."""
    reply = call(gateway, "relu", "not numbers")
    assert isinstance(reply, ErrorRecord) and reply.type == "UFuncTypeError", reply
    assert reply.is_a("TypeError") and not reply.is_a("ValueError")
    assert plain.decode(plain.encode(reply)) == reply


def test_a_malformed_error_record_is_a_protocol_error():
    for forged in ('{"__error__": ["TypeError", "m", ""]}', '{"__error__": ["TypeError", "m", "", 7]}'):
        with pytest.raises(ValueError, match="malformed"):
            plain.decode(forged)


def test_student_prints_neither_corrupt_nor_reach_the_protocol(gateway):
    reply = call(gateway, "chatty", np.array([-1.0, 1.0]))
    assert np.array_equal(reply["result"], [0.0, 1.0])


def test_a_hang_times_out_and_the_next_call_gets_a_fresh_worker(gateway):
    started = time.monotonic()
    reply = call(gateway, "loop", np.zeros(1))
    assert isinstance(reply, ErrorRecord) and reply.type == "WorkerTimeout"
    assert "activations.loop" in reply.message and f"{CALL_TIMEOUT:g} s" in reply.message
    assert time.monotonic() - started < CALL_TIMEOUT + 10
    assert np.array_equal(call(gateway, "relu", np.array([-2.0]))["result"], [0.0])


def test_a_call_can_get_a_longer_limit(gateway):
    reply = gateway.call("common.call", "activations", "loop", np.zeros(1), timeout=CALL_TIMEOUT + 2)
    assert f"{CALL_TIMEOUT + 2:g} s" in reply.message


@pytest.mark.parametrize("function, expected", [("exit_now", "exited with code 3"), ("segfault", "SIGSEGV")])
def test_a_dying_worker_becomes_an_error_record(gateway, function, expected):
    reply = call(gateway, function, np.zeros(1))
    assert isinstance(reply, ErrorRecord) and reply.type == "WorkerDied", reply
    assert expected in reply.message and f"activations.{function}" in reply.message
    assert np.array_equal(call(gateway, "relu", np.array([3.0]))["result"], [3.0])


def test_an_output_flood_is_stopped(gateway):
    reply = call(gateway, "flood", np.zeros(1))
    assert isinstance(reply, ErrorRecord) and reply.type == "OutputFlood"
    assert f"{FLOOD_BYTES >> 20} MB" in reply.message


def test_memory_is_limited(gateway, incidents):
    reply = call(gateway, "allocate", np.zeros(1))
    assert isinstance(reply, ErrorRecord) and reply.type == "MemoryError", reply
    events = [json.loads(line) for line in incidents.read_text().splitlines()]
    assert any(event.get("type") == "MemoryError" for event in events)


def _host_shmem_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Shmem:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_a_memfd_bomb_is_stopped_by_the_memory_cgroup(folder, tmp_path):
    gateway = WorkerGateway(Target(folder), timeout=60, memory_mb=1024, incidents=tmp_path / "incidents.jsonl")
    try:
        call(gateway, "relu", np.zeros(1))
        if "cgroup" not in gateway.sandbox:
            pytest.skip(f"no memory cgroup here: {gateway.sandbox['not_applied'].get('cgroup')}")
        before = _host_shmem_mb()
        reply = call(gateway, "memfd_bomb", 100)  # 6 GB of shared memory if nothing stops it
        assert isinstance(reply, ErrorRecord) and reply.type == "WorkerMemory", reply
        assert "1024 MB" in reply.message
    finally:
        gateway.close()
    assert _host_shmem_mb() - before < 200  # every page given back with the worker
    events = [json.loads(line) for line in (tmp_path / "incidents.jsonl").read_text().splitlines()]
    peaks = [event["peak_mb"] for event in events if event.get("event") == "worker" and event.get("peak_mb")]
    assert peaks and max(peaks) <= 1024 + 8


def test_rebound_builtins_and_numpy_are_restored_after_the_call(gateway, incidents):
    assert call(gateway, "tamper", 0)["result"] == 0
    assert call(gateway, "pristine", 0)["result"] == [False, False]
    assert any(json.loads(line).get("event") == "tampering" for line in incidents.read_text().splitlines())


def test_a_reply_larger_than_the_probe_budget_is_refused(gateway):
    budget = reply_limit("common.call").max_bytes
    reply = call(gateway, "big", budget)  # base64 text of `budget` bytes is larger than the budget
    assert isinstance(reply, ErrorRecord) and reply.type == "ReplyTooLarge", reply
    assert np.array_equal(call(gateway, "relu", np.array([3.0]))["result"], [3.0])


@pytest.mark.parametrize("size, kind", [(90 << 20, "ReplyTooLarge"), (6 << 20, "ProtocolError")])
def test_a_reply_bomb_is_refused_before_it_is_built(gateway, size, kind):
    """A 90 MB frame fails from its header; a 6 MB one of two million empty lists from its
    element count: neither is decoded, so the grading process does not grow."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reply = call(gateway, "reply_bomb", size)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert isinstance(reply, ErrorRecord) and reply.type == kind, reply
    assert grown_mb < 64, f"the grading process grew by {grown_mb:.0f} MB"
    assert np.array_equal(call(gateway, "relu", np.array([3.0]))["result"], [3.0])


def test_the_worker_runs_as_a_dedicated_user_in_a_jail(gateway):
    sandbox_applies(gateway, "filesystem")
    seen = call(gateway, "whoami", 0)["result"]
    if os.geteuid() == 0:
        assert seen["uid"] >= UID_BASE
    assert 1 < seen["pid"] < 100 and seen["cwd"].endswith("/work") and "PATH" in seen["env"]
    assert "PYTEST_CURRENT_TEST" in os.environ and "PYTEST_CURRENT_TEST" not in seen["env"]  # minimal env


def test_the_network_is_unreachable(gateway):
    sandbox_applies(gateway, "network")
    for host in ("1.1.1.1", "127.0.0.1"):
        reply = call(gateway, "connect", host)
        assert isinstance(reply, ErrorRecord) and reply.type in ("OSError", "ConnectionRefusedError",
                                                                  "TimeoutError", "gaierror"), reply


def test_it_cannot_write_outside_its_folder_nor_read_the_data(gateway, folder, tmp_path):
    sandbox_applies(gateway, "filesystem")
    digest = hashlib.sha256(MNIST_PATH.read_bytes()).hexdigest()
    targets = [REPO_ROOT / "grader" / "pwned.py", MNIST_PATH, MNIST_PATH.parent / "new.npz",
               folder / "activations.py", tmp_path / "outside.txt", SOLUTIONS_DIR / "relu.py"]
    for path in targets:
        reply = call(gateway, "write", str(path))
        assert isinstance(reply, ErrorRecord), f"the worker wrote {path}"
    assert call(gateway, "write", "inside.txt")["result"] == "written"  # its own folder works
    assert not (REPO_ROOT / "grader" / "pwned.py").exists() and not (tmp_path / "outside.txt").exists()
    assert hashlib.sha256(MNIST_PATH.read_bytes()).hexdigest() == digest
    assert isinstance(call(gateway, "read", str(MNIST_PATH)), ErrorRecord)
    assert isinstance(call(gateway, "read", str(folder / "activations.py")), ErrorRecord)  # only its copy
    assert call(gateway, "read", "/proc/self/status")["result"] > 0


def test_processes_are_bounded_and_killed_with_the_worker(gateway, incidents):
    sandbox_applies(gateway, "processes")
    started = call(gateway, "spawn", 1000)["result"]
    assert 0 < started < 64  # the worker's own threads count against the limit too
    assert any(json.loads(line).get("event") == "stray_processes" for line in incidents.read_text().splitlines())
    assert np.array_equal(call(gateway, "relu", np.array([1.0]))["result"], [1.0])
    assert _sleepers() == []


def test_closing_removes_the_worker_and_its_folder(folder):
    gateway = WorkerGateway(Target(folder), timeout=CALL_TIMEOUT)
    call(gateway, "relu", np.zeros(1))
    worker = gateway._worker
    assert worker.space.folder.is_dir()
    gateway.close()
    assert not worker.space.folder.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(worker.process.pid, 0)


def _sleepers() -> list[int]:
    """PIDs of the ``sleep 600`` processes started by ``spawn`` that are still alive."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if entry.stat().st_uid >= UID_BASE and (entry / "cmdline").read_bytes() == b"sleep\x00600\x00":
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_pytest_isolate_grades_through_the_worker(tmp_path):
    run = run_grader("solutions", tmp_path, "--isolate", "-k", "test_activations")
    assert run.returncode == 0, run.output[-3000:]
    assert run.exercise_scores() == {"activations": 8}
