"""``grader.isolation.cgroup`` on the real kernel: shared-memory bombs are OOM-killed inside a worker
cgroup and take nothing from the host; honest processes keep running; the process limit
holds; groups are emptied and removed. Skipped (with the reason) where no cgroup can be
made, as in a container with a read-only /sys/fs/cgroup."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from grader.isolation.cgroup import WorkerCgroup, unavailable_reason

REPO = Path(__file__).resolve().parent.parent
REASON = unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"no worker cgroup can be made here: {REASON}")

LIMIT_MB = 300
#: Host shared memory other processes may add or free while a test runs.
NOISE_MB = 100
#: What a bomb tries to take: 20 pieces of 60 MB, four times the limit.
BOMB_PIECES, PIECE_MB = 20, 60

_created: list[WorkerCgroup] = []


@pytest.fixture
def make():
    """``make(memory_mb, processes, name=None)``: a group, removed after the test whatever happens."""
    mine = []

    def factory(memory_mb: int = LIMIT_MB, processes: int = 64, name: str | None = None) -> WorkerCgroup:
        group = WorkerCgroup.create(memory_mb=memory_mb, processes=processes, name=name)
        mine.append(group)
        _created.append(group)
        return group

    yield factory
    for group in mine:
        group.remove()


def _shmem_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Shmem:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no Shmem line in /proc/meminfo")


class _ShmemWatch:
    """The most host shared memory seen (sampled every few ms) while the block runs."""

    def __enter__(self):
        self.before = self.peak = _shmem_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, _shmem_mb())

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _shmem_mb())
        self.grown = self.peak - self.before


def _run_joined(group: WorkerCgroup, code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python that joins ``group`` as its first step (the worker's way)."""
    prelude = "import json, sys\nfrom grader.isolation.cgroup import join\njoin(json.loads(sys.argv[1]))\n"
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code), json.dumps(group.join_spec())],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def _assert_bomb_stopped(group: WorkerCgroup, done: subprocess.CompletedProcess, watch: _ShmemWatch) -> None:
    print(f"rc={done.returncode} peak={group.peak_mb():.1f} MB shmem before={watch.before:.1f} "
          f"peak={watch.peak:.1f} MB output={done.stdout.strip()!r}")
    assert "survived" not in done.stdout
    assert done.returncode in (-signal.SIGKILL, 3), done.stdout + done.stderr
    assert group.out_of_memory()
    assert group.peak_mb() <= LIMIT_MB + 10
    assert watch.grown <= LIMIT_MB + NOISE_MB, f"the host's shared memory grew by {watch.grown:.0f} MB"
    assert group.pids_inside() == []


def test_memfd_bomb_is_killed_and_frees_the_host(make):
    group = make()
    with _ShmemWatch() as watch:
        done = _run_joined(group, f"""
            import os
            chunk = b"x" * (1 << 20)
            fds = []
            try:
                for i in range({BOMB_PIECES}):
                    fd = os.memfd_create(f"bomb{{i}}")
                    for _ in range({PIECE_MB}):
                        os.write(fd, chunk)
                    fds.append(fd)
            except OSError as error:
                print("failed", error, flush=True)
                sys.exit(3)
            print("survived", flush=True)
        """)
    _assert_bomb_stopped(group, done, watch)
    print(f"shmem after={_shmem_mb():.1f} MB")
    assert _shmem_mb() - watch.before <= NOISE_MB  # the memfds died with the process
    assert group.remove()


def test_shared_mapping_bomb_is_killed_and_frees_the_host(make):
    group = make()
    with _ShmemWatch() as watch:
        done = _run_joined(group, f"""
            import mmap
            size, chunk = {BOMB_PIECES * PIECE_MB} << 20, b"x" * (1 << 20)
            area = mmap.mmap(-1, size, flags=mmap.MAP_SHARED)
            for offset in range(0, size, len(chunk)):
                area[offset:offset + len(chunk)] = chunk
            print("survived", flush=True)
        """)
    _assert_bomb_stopped(group, done, watch)
    print(f"shmem after={_shmem_mb():.1f} MB")
    assert _shmem_mb() - watch.before <= NOISE_MB
    assert group.remove()


def test_tmpfs_file_bomb_is_killed_and_charged(make):
    group = make()
    folder = Path(tempfile.mkdtemp(prefix="cgroup-bomb-", dir="/dev/shm"))
    try:
        with _ShmemWatch() as watch:
            done = _run_joined(group, f"""
                chunk = b"x" * (1 << 20)
                try:
                    for i in range({BOMB_PIECES}):
                        with open(f"{folder}/piece{{i}}", "wb", buffering=0) as stream:
                            for _ in range({PIECE_MB}):
                                stream.write(chunk)
                except OSError as error:
                    print("failed", error, flush=True)
                    sys.exit(3)
                print("survived", flush=True)
            """)
        _assert_bomb_stopped(group, done, watch)
        written = sum(path.stat().st_size for path in folder.iterdir()) >> 20
        print(f"written={written} MB, shmem after the kill={_shmem_mb():.1f} MB")
        assert written <= LIMIT_MB  # tmpfs pages outlive the writer, but never beyond the limit
    finally:
        shutil.rmtree(folder)
    print(f"shmem after rm={_shmem_mb():.1f} MB")
    assert _shmem_mb() - watch.before <= NOISE_MB
    assert group.remove()


def test_honest_process_added_from_outside_survives(make):
    group = make()
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys
        sys.stdin.readline()  # wait until the parent has moved this process in
        data = b"x" * (100 << 20)
        print("done", len(data) >> 20, flush=True)
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    group.add(child.pid)
    assert group.pids_inside() == [child.pid]
    out, _ = child.communicate("go\n", timeout=60)
    print(f"peak={group.peak_mb():.1f} MB")
    assert child.returncode == 0 and out.split() == ["done", "100"]
    assert not group.out_of_memory()
    assert 100 <= group.peak_mb() <= LIMIT_MB
    record = group.describe()
    assert record["version"] in (1, 2) and record["memory_mb"] == LIMIT_MB and record["peak_mb"] >= 100
    assert record["out_of_memory"] is False and Path(record["path"]).is_dir()
    assert group.remove() and not Path(record["path"]).exists()


def test_process_limit_holds_and_kill_all_empties_the_group(make):
    group = make(processes=20)
    if group.pids is None:
        pytest.skip(f"no pids controller: {group.notes.get('pids')}")
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import json, os, sys, time
        from grader.isolation.cgroup import join
        join(json.loads(sys.argv[1]))
        started = 0
        for _ in range(50):
            try:
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
                started += 1
            except OSError:
                pass
        print(started, flush=True)
        sys.stdin.readline()
    """), json.dumps(group.join_spec())], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        started = int(child.stdout.readline())
        inside = group.pids_inside()
        print(f"started={started} inside={len(inside)}")
        assert 1 <= started <= 19  # the forking process itself is one of the 20
        assert len(inside) == started + 1 and child.pid in inside
        assert group.processes_limited()
        begin = time.monotonic()
        assert group.kill_all()
        print(f"kill_all: {time.monotonic() - begin:.3f} s")
        assert group.pids_inside() == []
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        child.kill()
        child.wait()
    folders = [group.memory, group.pids]
    assert group.remove()
    assert not any(folder.exists() for folder in folders)
    assert group.remove()  # twice is harmless


def test_a_stale_group_of_the_same_name_is_replaced(make):
    name = f"stale{os.getpid()}"
    old = make(name=name)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    old.add(sleeper.pid)
    # the grader "crashed": no remove(); the next run makes the same name
    new = make(name=name)
    assert sleeper.wait(timeout=10) == -signal.SIGKILL
    assert new.pids_inside() == [] and new.peak_mb() < 1 and not new.out_of_memory()
    assert new.remove()


def test_bad_names_are_refused():
    for name in ("a/b", ".", ".."):
        with pytest.raises(ValueError):
            WorkerCgroup.create(memory_mb=64, processes=8, name=name)


def test_join_without_rights_fails_loudly(make):
    group = make()
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to an unprivileged user")
    done = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import json, os, sys
        from grader.isolation.cgroup import join
        os.setresgid(65534, 65534, 65534)
        os.setresuid(65534, 65534, 65534)
        try:
            join(json.loads(sys.argv[1]))
        except OSError as error:
            print("refused", error.errno)
    """), json.dumps(group.join_spec())], capture_output=True, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=30)
    assert done.stdout.startswith("refused"), done.stdout + done.stderr
    assert group.pids_inside() == []


def test_nothing_is_left_behind():
    """Every group these tests made is gone, and so are the shared parents once empty."""
    assert _created, "run with the other tests of this file"
    for group in _created:
        for folder in (group.memory, group.pids):
            if folder is not None:
                assert not folder.exists(), f"{folder} was left behind"
                parent = folder.parent
                ours = (f"w{os.getpid()}-", f"probe{os.getpid()}-", f"stale{os.getpid()}")
                mine = [entry.name for entry in parent.iterdir() if entry.name.startswith(ours)] \
                    if parent.exists() else []
                assert mine == [], f"left in {parent}: {mine}"
