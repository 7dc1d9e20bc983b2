"""``course grade --cluster`` (``grader.bulk.cluster``): the same class, the same results.

A small class (the reference, a partial submission, an endless loop, a crash, and a zip of
the reference: all five share the reference's model files, so three bar keys) is graded
on a 2-process ``LocalCluster`` with a cold training cache, then by the local pool with
the cache the cluster filled (a cached run replays the verdict it stored, so the scores
cannot tell the two apart unless grading differs), then on a cluster reached by its
address whose Dask worker is killed while grading a student; all three must agree byte for byte
on the gradebook and on every status and score.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.bulk.cluster import INSTALL_HINT, ClusterSpec, distributed, parse_cluster
from grader.bulk.student import Interrupted, Settings, _wait, grade_student
from grader.bulk.submissions import Entry, discover
from grader.bulk.training_plan import bar_keys, waits_for
from grader.check_spec import DEFAULT_SEED
from grader.checking.bar_scoring import BAR_RUNS, run_key
from grader.checking.train_cache import TrainCache
from grader.errors import CourseError
from grader.paths import REPO_ROOT, SOLUTIONS_DIR
from tests.attacks.corpus import CASES, build_class
from tests.test_bulk import CALL_TIMEOUT, _worker_processes, copy_cache, student_results

#: The issue's class: reference, partial, endless loop, crash, and a second copy of the model files.
CLASS = ("reference", "partial", "infinite-loop", "os-exit-in-function", "messy-zip")
STATUSES = {"reference": "graded", "partial": "graded", "infinite-loop": "timeout",
            "os-exit-in-function": "crashed", "messy-zip": "graded"}
#: Seconds the first student's grading runs before its Dask worker is killed (it takes ~30 s with its bars cached).
MID_GRADING = 5


# -- fast: options, the missing extra, the plan, the stop hook ------------------------------------

def test_cluster_values_parse_or_say_what_is_expected():
    assert parse_cluster("local:2") == ClusterSpec(workers=2)
    assert parse_cluster("tcp://node7:8786") == ClusterSpec(address="tcp://node7:8786")
    assert parse_cluster("/shared/scheduler.json") == ClusterSpec(scheduler_file="/shared/scheduler.json")
    for text, message in (("local:0", "above 0"), ("local:x", "above 0"), ("tcp://node7", "tcp://HOST:PORT"),
                          ("node7:8786", "is not local:N")):
        with pytest.raises(ValueError, match=message):
            parse_cluster(text)


def test_the_command_line_refuses_a_bad_cluster_and_workers_with_cluster(tmp_path):
    for options, message in ((["--cluster", "local:0"], "above 0"),
                             (["--cluster", "local:2", "--workers", "2"], "not allowed with argument")):
        done = subprocess.run([sys.executable, "-m", "grader.cli", "grade", str(tmp_path), "--out",
                               str(tmp_path / "r"), *options], cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 2 and message in done.stderr, done.stderr


def test_without_the_extra_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed: import fails
    with pytest.raises(CourseError, match=r"pip install -e '\.\[cluster\]'"):
        distributed()
    assert INSTALL_HINT == "pip install -e '.[cluster]'"


def test_each_entry_waits_for_the_first_entry_of_each_of_its_keys():
    keys = {"a": frozenset({"k1", "k2"}), "b": frozenset({"k2"}), "c": frozenset({"k3"}),
            "d": frozenset({"k1", "k3"}), "e": frozenset()}
    assert waits_for(keys) == {"a": frozenset(), "b": {"a"}, "c": frozenset(), "d": {"a", "c"}, "e": frozenset()}


def test_bar_keys_are_the_grading_process_keys_of_the_staged_modules(tmp_path):
    submissions = tmp_path / "in"
    shutil.copytree(SOLUTIONS_DIR, submissions / "same", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(submissions / "same", submissions / "other-trainer")
    with open(submissions / "other-trainer" / "training.py", "a") as stream:
        stream.write("\nA_DIFFERENT_FILE = 1\n")  # a comment would not do: keys see through it
    (submissions / "broken.tar.gz").write_bytes(b"")
    cache = TrainCache(tmp_path / "cache")
    keys = {entry.id: bar_keys(entry, cache, tmp_path / "scratch") for entry in discover(submissions)}
    expected = {run_key(cache, kind, DEFAULT_SEED, SOLUTIONS_DIR, model_from, trainer_from)
                for kind, model_from, trainer_from in BAR_RUNS.values()}
    assert keys["same"] == expected and len(expected) == len(BAR_RUNS)
    assert len(keys["other-trainer"] & expected) == len(BAR_RUNS) - 1  # only the trainer's bar differs
    assert keys["broken"] == frozenset() and not list((tmp_path / "scratch").iterdir())


def test_the_key_names_the_installed_versions():
    import keras

    from grader.checking.train_cache import environment_fingerprint
    from grader.tf_runtime import tf

    fingerprint = environment_fingerprint()
    assert (fingerprint["tensorflow"], fingerprint["keras"]) == (tf.__version__, keras.__version__)


def test_stop_interrupts_a_running_grader_and_a_student_not_started(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    asked = []
    started = time.monotonic()
    assert _wait(process, 600, stop=lambda: asked.append(1) or len(asked) >= 2) == "stopped"
    assert process.returncode is not None and time.monotonic() - started < 60 and len(asked) == 2
    with pytest.raises(Interrupted):
        grade_student(Entry("x", tmp_path), Settings(out=tmp_path / "out"), launcher=None, stop=lambda: True)
    assert not (tmp_path / "out").exists()


# -- slow: the class on a pool and on clusters ---------------------------------------------------

def course_grade(submissions: Path, out: Path, *options: str) -> subprocess.Popen:
    """``course grade`` with a short call timeout (the endless loop), then ``options``."""
    command = [sys.executable, "-m", "grader.cli", "grade", str(submissions), "--out", str(out),
               "--timeout", CALL_TIMEOUT, *options]
    return subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run(submissions: Path, out: Path, *options: str) -> subprocess.CompletedProcess:
    process = course_grade(submissions, out, *options)
    stdout, stderr = process.communicate(timeout=3600)
    assert process.returncode == 0, stderr[-3000:]
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _started(out: Path, ident: str) -> float:
    """When ``ident``'s grading started (its grading.json's time less the seconds it took)."""
    path = out / ident / "grading.json"
    return path.stat().st_mtime - json.loads(path.read_text())["seconds"]


@pytest.fixture(scope="module")
def small_class(tmp_path_factory) -> Path:
    submissions = tmp_path_factory.mktemp("small-class") / "submissions"
    build_class(submissions, submissions.parent / "results", [case for case in CASES if case.id in CLASS])
    return submissions


@pytest.fixture(scope="module")
def on_cluster(small_class) -> Path:
    """The class on ``--cluster local:2`` with a cold training cache."""
    out = small_class.parent / "cluster"
    _run(small_class, out, "--cluster", "local:2")
    return out


@pytest.fixture(scope="module")
def in_pool(small_class, on_cluster) -> Path:
    """The class on the local pool (``--workers 2``), with the training cache the cluster filled."""
    out = small_class.parent / "pool"
    copy_cache(on_cluster / ".train_cache", out / ".train_cache")
    _run(small_class, out, "--workers", "2")
    return out


@pytest.mark.slow
def test_the_cluster_and_the_pool_give_the_same_gradebook_and_results(on_cluster, in_pool):
    assert (on_cluster / "gradebook.csv").read_bytes() == (in_pool / "gradebook.csv").read_bytes()
    cluster, pool = student_results(on_cluster), student_results(in_pool)
    assert {ident: result["status"] for ident, result in cluster.items()} == STATUSES
    assert cluster == pool
    assert cluster["reference"]["score"] == 100 and cluster["partial"]["score"] < 100
    assert not (on_cluster / ".work").exists()


@pytest.mark.slow
def test_the_cluster_trains_each_bar_key_once(small_class, on_cluster):
    cache = TrainCache(on_cluster / ".train_cache")
    keys = {entry.id: bar_keys(entry, cache, small_class.parent / "scratch") for entry in discover(small_class)}
    assert {path.stem for path in cache.folder.glob("*.json")} == set().union(*keys.values())
    assert len(set().union(*keys.values())) == len(BAR_RUNS)  # the five share the model files
    # the others were started only once the first (in id order) had its bars in the cache
    first, *others = sorted(STATUSES)
    finished = (on_cluster / first / "grading.json").stat().st_mtime
    for ident in others:
        assert _started(on_cluster, ident) >= finished - 0.1, ident


def _grading_processes(work: Path) -> dict[int, Path]:
    """pid -> work folder of every process (ours) whose current folder is an attempt's in ``work``."""
    found = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if cwd.parent == work and not cwd.name.startswith("."):
            found[int(entry.name)] = cwd
    return found


def _ancestors(pid: int) -> list[int]:
    chain = []
    while pid > 1:
        try:
            pid = int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            break
        chain.append(pid)
    return chain


@pytest.mark.slow
def test_a_dask_worker_killed_mid_grading_leaves_nothing_and_changes_nothing(small_class, in_pool, tmp_path):
    dask = distributed()
    out = tmp_path / "results"
    copy_cache(in_pool / ".train_cache", out / ".train_cache")
    with dask.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            dask.Client(cluster) as client:
        workers = set(client.run(os.getpid).values())
        process = course_grade(small_class, out, "--cluster", cluster.scheduler_address)
        seen: dict[Path, float] = {}  # the first student's grading (all others wait for it) -> since
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and process.poll() is None:
            running = {folder: pid for pid, folder in _grading_processes(out / ".work").items()}
            seen = {folder: seen.get(folder, time.monotonic()) for folder in running}
            if any(time.monotonic() - since > MID_GRADING for since in seen.values()):
                break
            time.sleep(0.5)
        assert seen and process.poll() is None, "no grading was seen running"
        folder = next(iter(seen))
        os.kill(next(pid for pid in _ancestors(running[folder]) if pid in workers), signal.SIGKILL)
        gone_by = time.monotonic() + 30
        while any(attempt == folder for attempt in _grading_processes(out / ".work").values()) \
                and time.monotonic() < gone_by:
            time.sleep(0.2)
        assert folder not in _grading_processes(out / ".work").values(), "the grading outlived its Dask worker"
        stdout, stderr = process.communicate(timeout=1800)
    assert process.returncode == 0, stderr[-3000:]
    assert (out / "gradebook.csv").read_bytes() == (in_pool / "gradebook.csv").read_bytes()
    assert student_results(out) == student_results(in_pool)
    assert not (out / ".work").exists() and not _worker_processes(under=out)
