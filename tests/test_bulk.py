"""Bulk grading (``course grade``): staging, gradebook, and the attack corpus end to end.

The corpus (``tests/attacks/corpus.py``, 30+ correct, partly correct, broken and
hostile submissions) is graded by one real ``course grade`` run, then graded again into
a fresh folder with the run killed half-way and resumed; both must agree.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.bulk.gradebook import rebuild
from grader.bulk.student import classify
from grader.bulk.submissions import MAX_MEMBERS, Entry, InvalidSubmission, discover, stage
from grader.paths import EXERCISE_MODULES, MNIST_PATH, REPO_ROOT
from grader.sandbox import UID_BASE
from tests.attacks.corpus import (CASES, ENTRY_IDS, ESCAPE_FILES, MARKER_PARTS, VICTIM, build_class, messy,
                                  non_utf8, symlink_out, zip_bomb, zip_slip)

CALL_TIMEOUT = "10"
MARKER = "".join(MARKER_PARTS).encode()


# -- staging ----------------------------------------------------------------------------------

def _stage(build, tmp_path: Path, ident: str = "student") -> tuple[Path, list[str]]:
    entry_path = build(tmp_path / "in", {"id": ident})
    dest = tmp_path / "staged"
    return dest, stage(Entry(ident, entry_path), dest)


@pytest.fixture
def entries(tmp_path):
    (tmp_path / "in").mkdir()
    return tmp_path


def test_discover_names_students_after_their_entries(tmp_path):
    for name in ("alice", "__MACOSX", ".git"):
        (tmp_path / name).mkdir()
    for name in ("bob.zip", "carol.ipynb", "alice.zip", ".DS_Store", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "dave").symlink_to(tmp_path / "alice")
    (tmp_path / "gradebook.csv").mkdir()  # its results folder would take the gradebook's place
    (tmp_path / "summary.md.zip").write_bytes(b"")
    found = {entry.id: entry.path.name for entry in discover(tmp_path)}
    assert found == {"alice": "alice", "alice.zip": "alice.zip", "bob": "bob.zip", "carol": "carol.ipynb",
                     "student-gradebook.csv": "gradebook.csv", "student-summary.md": "summary.md.zip"}


def test_a_results_folder_inside_the_submissions_is_no_student(tmp_path):
    for name in ("alice", "results"):
        (tmp_path / name).mkdir()
    assert [entry.id for entry in discover(tmp_path, skip=tmp_path / "results")] == ["alice"]


def test_bad_options_are_refused_with_a_message(tmp_path):
    for options, message in (([str(tmp_path), "--out", str(tmp_path)], "cannot be the submissions folder"),
                             ([str(tmp_path), "--out", str(tmp_path / "r"), "--workers", "0"], "must be above 0"),
                             ([str(tmp_path), "--out", str(tmp_path / "r"), "--timeout", "x"], "is not a number"),
                             ([str(tmp_path / "none"), "--out", str(tmp_path / "r")], "is not a folder")):
        done = subprocess.run([sys.executable, "-m", "grader.cli", "grade", *options], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and message in done.stderr, (options, done.stderr)


def test_a_messy_zip_stages_just_the_shallowest_modules(entries):
    dest, notes = _stage(messy, entries)
    assert sorted(path.name for path in dest.iterdir()) == sorted(f"{name}.py" for name in EXERCISE_MODULES)
    reference = (REPO_ROOT / "solutions" / "activations.py").read_text()
    assert (dest / "activations.py").read_text() == reference  # not the __MACOSX or hidden copy


def test_zip_slip_members_are_never_written(entries):
    dest, _ = _stage(zip_slip, entries)
    assert sorted(path.name for path in dest.iterdir()) == sorted(f"{name}.py" for name in EXERCISE_MODULES)
    assert not list(entries.rglob("course-zip-slip-*")) and not Path("/tmp/course-zip-slip-absolute.py").exists()


def test_symlinks_are_not_followed(entries):
    dest, _ = _stage(symlink_out, entries)
    assert not (dest / "convolution.py").exists() and (dest / "activations.py").is_file()


def test_a_zip_bomb_is_refused_unopened(entries):
    with pytest.raises(InvalidSubmission, match="expands to 1024 MB"):
        _stage(zip_bomb, entries)


def test_oversized_modules_and_crowded_zips_are_refused(entries):
    big = entries / "in" / "big.zip"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("deep/activations.py", b"#" * (2 << 20))
    with pytest.raises(InvalidSubmission, match="activations.py is larger than 1 MB"):
        stage(Entry("big", big), entries / "a")
    crowded = entries / "in" / "crowded.zip"
    with zipfile.ZipFile(crowded, "w") as archive:
        for number in range(MAX_MEMBERS + 1):
            archive.writestr(f"f{number}.txt", b"")
    with pytest.raises(InvalidSubmission, match=f"{MAX_MEMBERS + 1} files"):
        stage(Entry("crowded", crowded), entries / "b")


def test_unreadable_archives_and_notebooks_are_invalid_with_the_reason(tmp_path):
    (tmp_path / "corrupt.zip").write_bytes(b"not a zip")
    (tmp_path / "cut.zip").write_bytes(b"PK\x03\x04" + b"\0" * 40)
    (tmp_path / "broken.ipynb").write_text("{not json")
    reasons = {}
    for entry in discover(tmp_path):
        with pytest.raises(InvalidSubmission) as caught:
            stage(entry, tmp_path / "staged" / entry.id)
        reasons[entry.id] = str(caught.value)
    assert "corrupt.zip is not a readable zip file" in reasons["corrupt"]
    assert "cut.zip is not a readable zip file" in reasons["cut"]
    assert reasons["broken"].startswith("the notebook could not be read: broken.ipynb is not a readable notebook")


def test_names_that_are_not_utf8_are_fine(entries):
    root = entries / "in"
    non_utf8(root, {"id": "x"})
    (entry,) = discover(root)
    assert entry.id == "non-utf8-\\xff\\xfe"
    stage(entry, entries / "staged")
    assert len(list((entries / "staged").iterdir())) == len(EXERCISE_MODULES)


def test_a_notebook_entry_is_extracted(tmp_path):
    notebook = REPO_ROOT / "notebooks" / "instructor" / "mnist_course.ipynb"
    if not notebook.is_file():
        pytest.skip("no course notebook in this checkout")
    shutil.copy(notebook, tmp_path / "nina.ipynb")
    (entry,) = discover(tmp_path)
    notes = stage(entry, tmp_path / "staged")
    assert entry.id == "nina" and "mnist_course" not in str(notes) and notes
    assert {path.stem for path in (tmp_path / "staged").iterdir()} == set(EXERCISE_MODULES)


def test_a_notebook_without_the_extractor_is_invalid(tmp_path, monkeypatch):
    (tmp_path / "nina.ipynb").write_text("{}")
    monkeypatch.setitem(sys.modules, "grader.notebook_extract", None)
    with pytest.raises(InvalidSubmission, match="cannot read notebooks"):
        stage(Entry("nina", tmp_path / "nina.ipynb"), tmp_path / "staged")


# -- statuses and the gradebook ---------------------------------------------------------------

def test_statuses_follow_the_worst_fault():
    timeout, died = {"type": "WorkerTimeout", "message": "slow"}, {"type": "WorkerDied", "message": "gone"}
    assert classify([], 0, False, True, 60) == ("graded", "")
    assert classify([died, timeout, timeout], 0, False, True, 60) == ("timeout", "slow (and 1 more)")
    assert classify([died, {"type": "MemoryError", "message": "big"}], 0, False, True, 60)[0] == "memory"
    assert classify([died], 0, False, True, 60) == ("crashed", "gone")
    assert classify([], 0, True, True, 60)[0] == "timeout"
    assert classify([], -9, False, False, 60)[0] == "crashed"


def test_the_gradebook_is_rebuilt_from_the_student_files(tmp_path):
    for ident, score, status in (("a", 100.0, "graded"), ("b", 55.0, "timeout"), ("c", 0.0, "invalid")):
        record = {"id": ident, "status": status, "reason": "" if status == "graded" else "why", "seconds": 1.5,
                  "score": score, "max_score": 100.0, "exercises": {"activations": min(score, 8.0)},
                  "sandbox": {"not_applied": {"network": "no namespaces here"}} if ident == "a" else None}
        tests = [{"name": "activations: relu works", "status": "passed" if score == 100 else "failed"}]
        (tmp_path / ident).mkdir()
        (tmp_path / ident / "grading.json").write_text(json.dumps(record))
        (tmp_path / ident / "results.json").write_text(json.dumps({"tests": tests}))
    summary = rebuild(tmp_path)
    rows = list(csv.DictReader((tmp_path / "gradebook.csv").open()))
    assert [row["id"] for row in rows] == ["a", "b", "c"]
    assert list(rows[0]) == ["id", *EXERCISE_MODULES, "total", "status", "seconds", "reason"]
    assert rows[1]["total"] == "55" and rows[1]["status"] == "timeout" and rows[1]["convolution"] == "0"
    assert summary["count"] == 3 and summary["mean"] == 51.67 and summary["median"] == 55
    assert summary["statuses"] == {"graded": 1, "timeout": 1, "memory": 0, "crashed": 0, "invalid": 1}
    assert summary["most_failed"] == [{"check": "activations: relu works", "students": 2}]
    assert [b["count"] for b in summary["histogram"]] == [1, 0, 0, 0, 0, 1, 0, 0, 0, 1]
    markdown = (tmp_path / "summary.md").read_text()
    assert "90-100 | # 1" in markdown and "2 students: activations: relu works" in markdown
    assert summary["sandbox_not_applied"] == ["network: no namespaces here"] and "no namespaces here" in markdown


# -- one student, end to end -----------------------------------------------------------------

def test_a_student_over_the_time_limit_is_stopped_then_regraded_with_force(tmp_path):
    submissions, out = tmp_path / "submissions", tmp_path / "results"
    build_class(submissions, out, [case for case in CASES if case.id == "missing-modules"])
    first = course_grade(submissions, out, "--student-timeout", "6")
    first.communicate(timeout=600)
    record = json.loads((out / "missing-modules" / "grading.json").read_text())
    assert record["status"] == "timeout" and "longer than 6 s" in record["reason"] and record["score"] < 28
    again = course_grade(submissions, out)
    stdout, _ = again.communicate(timeout=600)
    assert "1 already graded before this run" in stdout
    forced = course_grade(submissions, out, "--force")
    stdout, stderr = forced.communicate(timeout=600)
    assert forced.returncode == 0, stderr[-3000:]
    record = json.loads((out / "missing-modules" / "grading.json").read_text())
    assert record["status"] == "graded" and record["score"] == 28, record
    assert "0 already graded" in stdout and "mean 28.0" in stdout


# -- the corpus, end to end -------------------------------------------------------------------

@dataclass
class ClassRun:
    submissions: Path
    out: Path
    cases: dict  # student id -> Case
    done: subprocess.CompletedProcess
    before: dict  # digests of what must not change


def course_grade(submissions: Path, out: Path, *extra: str, **popen) -> subprocess.Popen:
    command = [sys.executable, "-m", "grader.cli", "grade", str(submissions), "--out", str(out),
               "--workers", "2", "--timeout", CALL_TIMEOUT, *extra]
    return subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **popen)


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file and link under ``folder`` -> SHA-256 of its bytes (or its link target)."""
    digests = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            digests[str(path)] = "link:" + os.readlink(path)
        elif path.is_file():
            digests[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def protected_digests(submissions: Path) -> dict:
    return {"submissions": tree_digest(submissions), "mnist": hashlib.sha256(MNIST_PATH.read_bytes()).hexdigest(),
            "kept": [(REPO_ROOT / "grader" / "__init__.py").is_file(), (MNIST_PATH.parent / "README.md").is_file()]}


def copy_cache(source: Path, dest: Path) -> None:
    """Share trained accuracy-bar runs between results folders (content-keyed)."""
    dest.mkdir(parents=True, exist_ok=True)
    for entry in source.glob("*.json"):
        if not (dest / entry.name).exists():
            shutil.copy(entry, dest / entry.name)


def student_results(out: Path) -> dict:
    """What must not depend on how the run went: statuses, scores, every check's outcome."""
    results = {}
    for path in sorted(out.glob("*/grading.json")):
        record = json.loads(path.read_text())
        tests = json.loads((path.parent / "results.json").read_text())["tests"]
        results[record["id"]] = {
            "status": record["status"], "reason": re.sub(r"course-worker-\w+", "W", record["reason"]),
            "score": record["score"], "exercises": record["exercises"],
            "checks": [(test["name"], test["score"], test["status"]) for test in tests],
        }
    return results


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, shared_cache) -> ClassRun:
    """The whole corpus graded by one run (students with the reference's model files
    train its bars once between them: the cache holds the others back meanwhile)."""
    root = tmp_path_factory.mktemp("class")
    submissions, out = root / "submissions", root / "results"
    cases = build_class(submissions, out)
    before = protected_digests(submissions)
    copy_cache(shared_cache, out / ".train_cache")
    process = course_grade(submissions, out)
    stdout, stderr = process.communicate(timeout=3600)
    copy_cache(out / ".train_cache", shared_cache)
    return ClassRun(submissions, out, cases, subprocess.CompletedProcess(process.args, process.returncode,
                                                                          stdout, stderr), before)


@pytest.fixture(scope="module")
def full_points(graded_class) -> dict:
    reference = json.loads((graded_class.out / VICTIM / "grading.json").read_text())
    assert reference["status"] == "graded" and reference["score"] == reference["max_score"] == 100
    return reference["exercises"]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_case_gets_its_status_and_no_more_than_it_earned(graded_class, full_points, case):
    ident = ENTRY_IDS.get(case.id, case.id)
    record = json.loads((graded_class.out / ident / "grading.json").read_text())
    assert record["status"] == case.status, record
    for exercise, full in full_points.items():
        score = record["exercises"].get(exercise, 0.0)
        if exercise in case.broken:
            assert score <= case.broken[exercise] < full, (exercise, record)
        else:
            assert score == full, (exercise, record)
    feedback = (graded_class.out / ident / "feedback.md").read_text()
    assert f"Score: {record['score']:g} / " in feedback
    if case.status != "graded":
        assert record["reason"] and record["reason"] in feedback


@pytest.mark.slow
def test_the_class_run_finishes_with_gradebook_and_summary(graded_class):
    done, out = graded_class.done, graded_class.out
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"grading: 100%.*student", done.stderr) and "<" in done.stderr  # progress, time left
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert sorted(row["id"] for row in rows) == sorted(graded_class.cases) and len(rows) >= 30
    summary = json.loads((out / "summary.json").read_text())
    assert summary["count"] == len(rows) == sum(summary["statuses"].values())
    assert all(summary["statuses"][status] for status in ("graded", "timeout", "memory", "crashed", "invalid"))
    assert "## Checks failed most often" in (out / "summary.md").read_text()
    assert not (out / ".work").exists()
    results = json.loads((out / VICTIM / "results.json").read_text())
    assert {"score", "max_score", "tests", "visibility"} <= set(results)
    assert {"name", "score", "max_score", "output", "visibility", "execution_time"} <= set(results["tests"][0])


@pytest.mark.slow
def test_no_attack_touched_anything_outside_its_folder(graded_class):
    assert protected_digests(graded_class.submissions) == graded_class.before
    out = graded_class.out
    for path in [*out.rglob("*"), *(REPO_ROOT / "grader").rglob("*.py")]:
        assert not path.is_file() or MARKER not in path.read_bytes(), path
    assert not (out / ".train_cache" / "forged.json").exists()
    for path in [*ESCAPE_FILES, "/results.json", "/tmp/course-zip-slip-absolute.py"]:
        assert not Path(path).exists(), path
    assert not list(graded_class.submissions.parent.rglob("course-zip-slip-*"))
    assert not _worker_processes(), "worker processes outlived the run"


def _worker_processes(wait: float = 20.0) -> list[str]:
    """Processes owned by a worker's dedicated uid still there after ``wait`` seconds.

    A killed worker takes a moment to go: its PID namespace is torn down after it dies.
    """
    deadline = time.monotonic() + wait
    while True:
        found = []
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                if entry.stat().st_uid >= UID_BASE:
                    found.append(f"{entry.name}: {(entry / 'cmdline').read_bytes()[:80]!r}")
            except OSError:
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_results(graded_class, tmp_path):
    out = tmp_path / "results"
    copy_cache(graded_class.out / ".train_cache", out / ".train_cache")
    process = course_grade(graded_class.submissions, out, start_new_session=True)
    deadline = time.monotonic() + 1800
    while len(list(out.glob("*/grading.json"))) < len(graded_class.cases) // 3 and time.monotonic() < deadline:
        time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()
    finished = len(list(out.glob("*/grading.json")))
    assert 0 < finished < len(graded_class.cases)
    assert not _worker_processes(), "the kill left workers behind"

    resumed = course_grade(graded_class.submissions, out)
    stdout, stderr = resumed.communicate(timeout=3600)
    assert resumed.returncode == 0, stderr[-3000:]
    assert f"{finished} already graded before this run" in stdout
    assert student_results(out) == student_results(graded_class.out)
    assert (out / "gradebook.csv").read_text().count("\n") == len(graded_class.cases) + 1

    again = course_grade(graded_class.submissions, out)
    stdout, _ = again.communicate(timeout=600)
    assert f"{len(graded_class.cases)} already graded before this run" in stdout
