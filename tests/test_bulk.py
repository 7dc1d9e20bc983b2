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

from grader.bulk import Settings, grade_class
from grader.bulk.gradebook import rebuild
from grader.bulk.student import classify
from grader.bulk.submissions import (
    MAX_MEMBERS,
    Entry,
    InvalidSubmission,
    discover,
    stage,
)
from grader.isolation.sandbox import UID_BASE
from grader.paths import EXERCISE_MODULES, MNIST_PATH, REPO_ROOT, SOLUTIONS_DIR
from tests.attacks.corpus import (
    CASES,
    ENTRY_IDS,
    ESCAPE_FILES,
    MARKER_PARTS,
    VICTIM,
    build_class,
    messy,
    non_utf8,
    symlink_out,
    zip_bomb,
    zip_slip,
)

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
    for name in ("bob.zip", "carol.ipynb", "alice.zip", ".DS_Store", "notes.txt", "erin.tar.gz"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "dave").symlink_to(tmp_path / "alice")
    (tmp_path / "gradebook.csv").mkdir()  # its results folder would take the gradebook's place
    (tmp_path / "summary.md.zip").write_bytes(b"")
    entries = discover(tmp_path)
    found = {entry.id: entry.path.name for entry in entries}
    assert found == {"alice": "alice", "alice.zip": "alice.zip", "bob": "bob.zip", "carol": "carol.ipynb",
                     "dave": "dave", "erin": "erin.tar.gz",
                     "student-gradebook.csv": "gradebook.csv", "student-summary.md": "summary.md.zip"}
    problems = {entry.id: entry.problem for entry in entries if entry.problem}
    assert problems == {"dave": "dave is a symbolic link, which is not followed (copy the submission itself in)",
                        "erin": "erin.tar.gz is a .tar.gz archive: only folders, .zip and .ipynb files are graded "
                                "(send a .zip)"}
    for entry in entries:
        if entry.problem:  # reported, never dropped
            with pytest.raises(InvalidSubmission, match=re.escape(entry.problem)):
                stage(entry, tmp_path / "staged" / entry.id)


def _sha8(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:8]


def test_ids_that_print_alike_get_distinct_ids_from_their_raw_names(tmp_path, monkeypatch):
    root = tmp_path / "in"
    root.mkdir()
    raw = os.fsdecode(b"\xff")
    for name in ("\\xff", raw):  # the text \xff, and the byte 0xff: both print as \xff
        (root / name).mkdir()
        (root / name / "activations.py").write_text("x = 1\n")
    for name in (os.fsdecode(b"z\xff.zip"), "z\\xff.zip", "gradebook.csv", "student-gradebook.csv"):
        (root / name).mkdir()
    zip_raw = os.fsdecode(b"z\xff.zip")
    expected = {"\\xff": "\\xff", "\\xff-" + _sha8(b"\xff"): raw,
                "z\\xff.zip": "z\\xff.zip", "z\\xff.zip-" + _sha8(b"z\xff.zip"): zip_raw,
                "student-gradebook.csv": "student-gradebook.csv",
                "student-gradebook.csv-" + _sha8(b"gradebook.csv"): "gradebook.csv"}
    entries = discover(root)
    assert {entry.id: entry.path.name for entry in entries} == expected
    assert [entry.id for entry in entries] == sorted(expected)
    renamed = next(entry for entry in entries if entry.path.name == raw)
    assert renamed.note and renamed.id in renamed.note and renamed.note in stage(renamed, tmp_path / "s")
    # the same ids whatever order the folder is listed in, and in another folder with the same names
    listing = Path.iterdir
    monkeypatch.setattr(Path, "iterdir", lambda self: reversed(list(listing(self))))
    assert {entry.id: entry.path.name for entry in discover(root)} == expected
    monkeypatch.undo()
    again = tmp_path / "again"
    for name in reversed(list(expected.values())):
        (again / name).mkdir(parents=True)
    assert {entry.id: entry.path.name for entry in discover(again)} == expected


def test_ids_of_the_same_text_without_a_natural_owner_all_get_suffixes(tmp_path):
    """b"\\x85" (not UTF-8) and U+0085 (unprintable) both print \\x85; neither is named so."""
    names = [os.fsdecode(b"\x85"), "\x85"]
    for name in names:
        (tmp_path / name).mkdir()
    ids = {entry.id for entry in discover(tmp_path)}
    assert ids == {"\\x85-" + _sha8(os.fsencode(name)) for name in names}


def test_overlong_ids_are_cut_with_a_digest(tmp_path):
    long_raw = os.fsdecode(b"\xfe" * 250)  # prints as 1000 characters
    (tmp_path / long_raw).mkdir()
    (tmp_path / ("a" * 250)).mkdir()
    ids = [entry.id for entry in discover(tmp_path)]
    assert len(ids) == 2 and all(len(ident.encode()) <= 200 for ident in ids)
    assert "-" + _sha8(b"\xfe" * 250) in "".join(ids) and any(ident.startswith("a" * 150) for ident in ids)


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
    monkeypatch.setitem(sys.modules, "grader.notebook.extract", None)
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
                  "sandbox": {"not_applied": {"network": "no namespaces here"}} if ident == "a" else None,
                  "flags": [{"file": "model.py", "line": 3, "reason": "imports the grader (grader)"},
                            {"file": "training.py", "line": 0, "reason": "is 300 KB"}] if ident == "b" else []}
        tests = [{"name": "activations: relu works", "status": "passed" if score == 100 else "failed"}]
        (tmp_path / ident).mkdir()
        (tmp_path / ident / "grading.json").write_text(json.dumps(record))
        (tmp_path / ident / "results.json").write_text(json.dumps({"tests": tests}))
    summary = rebuild(tmp_path)
    rows = list(csv.DictReader((tmp_path / "gradebook.csv").open()))
    assert [row["id"] for row in rows] == ["a", "b", "c"]
    assert list(rows[0]) == ["id", *EXERCISE_MODULES, "total", "status", "reason", "flagged"]
    assert rows[1]["flagged"] == "model.py:3 imports the grader (grader); training.py is 300 KB"
    assert rows[0]["flagged"] == rows[2]["flagged"] == ""
    assert summary["flagged"] == [{"id": "b", "flags": rows[1]["flagged"]}]
    assert rows[1]["total"] == "55" and rows[1]["status"] == "timeout" and rows[1]["convolution"] == "0"
    assert summary["count"] == 3 and summary["mean"] == 51.67 and summary["median"] == 55
    assert summary["statuses"] == {"graded": 1, "timeout": 1, "memory": 0, "crashed": 0, "invalid": 1}
    assert summary["most_failed"] == [{"check": "activations: relu works", "students": 2}]
    assert [b["count"] for b in summary["histogram"]] == [1, 0, 0, 0, 0, 1, 0, 0, 0, 1]
    markdown = (tmp_path / "summary.md").read_text()
    assert "90-100 | # 1" in markdown and "2 students: activations: relu works" in markdown
    assert summary["sandbox_not_applied"] == ["network: no namespaces here"] and "no namespaces here" in markdown
    assert "## Flagged submissions\n\n- b: model.py:3 imports the grader (grader); training.py is 300 KB" in markdown


def test_every_entry_gets_a_row_and_flags_reach_every_file(tmp_path, monkeypatch):
    """A class graded with a stand-in for pytest: ids that print alike, a symbolic link, a
    .tar.gz, no code, a student the grader itself fails on: one row each, saying why."""
    import grader.bulk.student as student

    def fake_grader(work: Path, settings, launcher, record, stop=None) -> dict:
        if "BOOM" in (work / "submission" / "activations.py").read_text():
            raise RuntimeError("a bug in the grader")
        record.status, record.reason = "graded", ""
        return student._empty_results("stand-in")

    monkeypatch.setattr(student, "_grade_staged", fake_grader)
    submissions, out = tmp_path / "submissions", tmp_path / "results"
    raw = os.fsdecode(b"\xff")
    sources = {"\\xff": "import grader.checking.expectations\n", raw: "x = 1\n", "boom": "BOOM = 1\n"}
    for name, source in sources.items():
        (submissions / name).mkdir(parents=True)
        (submissions / name / "activations.py").write_text(source)
    (submissions / "no-code").mkdir()
    (submissions / "dave").symlink_to(submissions / "boom")
    (submissions / "erin.tar.gz").write_bytes(b"")
    renamed = "\\xff-" + _sha8(b"\xff")
    settings = Settings(out=out)

    summary = grade_class(submissions, settings, progress=False)
    rows = {row["id"]: row for row in csv.DictReader((out / "gradebook.csv").open())}
    assert sorted(rows) == sorted(entry.id for entry in discover(submissions)) == sorted(
        ["\\xff", renamed, "boom", "dave", "erin", "no-code"])
    assert {ident: row["status"] for ident, row in rows.items()} == {
        "\\xff": "graded", renamed: "graded", "boom": "invalid", "dave": "invalid", "erin": "invalid",
        "no-code": "invalid"}
    assert rows["boom"]["reason"].startswith("not graded: the grader failed (RuntimeError: a bug in the grader)")
    assert "symbolic link" in rows["dave"]["reason"] and ".tar.gz archive" in rows["erin"]["reason"]
    assert summary["failed"] == {"boom": "RuntimeError: a bug in the grader"}
    # the flag, in every file
    flag = "activations.py:1 imports the grader (grader.checking.expectations)"
    assert rows["\\xff"]["flagged"] == flag and not any(row["flagged"] for row in list(rows.values())[1:])
    record = json.loads((out / "\\xff" / "grading.json").read_text())
    assert record["flagged"] and record["flags"] == [{"file": "activations.py", "line": 1,
                                                      "reason": "imports the grader (grader.checking.expectations)"}]
    assert record["status"] == "graded" and record["entry"] == "\\xff"
    assert "## Flagged for review" in (out / "\\xff" / "feedback.md").read_text()
    assert f"- {flag}" in (out / "\\xff" / "feedback.md").read_text()
    assert summary["flagged"] == [{"id": "\\xff", "flags": flag}]
    assert f"- \\xff: {flag}" in (out / "summary.md").read_text()
    assert json.loads((out / "summary.json").read_text())["flagged"] == summary["flagged"]
    assert "prints like another entry's" in (out / renamed / "feedback.md").read_text()

    # the next run grades again the student the grader failed on, and a folder whose record is
    # another entry's; a record of an older run (no entry key) still counts as done
    (submissions / "boom" / "activations.py").write_text("x = 2\n")
    other = json.loads((out / renamed / "grading.json").read_text())
    (out / renamed / "grading.json").write_text(json.dumps({**other, "entry_key": "0" * 16}))
    older = json.loads((out / "no-code" / "grading.json").read_text())
    del older["entry_key"]
    (out / "no-code" / "grading.json").write_text(json.dumps(older))
    summary = grade_class(submissions, settings, progress=False)
    assert summary["skipped"] == 4 and summary["failed"] == {}
    assert json.loads((out / "boom" / "grading.json").read_text())["status"] == "graded"
    assert json.loads((out / renamed / "grading.json").read_text())["entry_key"] == other["entry_key"]


# -- one student, end to end -----------------------------------------------------------------

#: A student slow by construction: activations and convolution correct (8 + 20 points),
#: normalize correct (3 of preprocessing's 14), then every other preprocessing function
#: sleeps an hour; pooling, model, training and keras_model are missing. The checks run in
#: file order (bars, activations, convolution, keras_model, model, pooling, preprocessing,
#: training), so the first call that sleeps is test_add_channel_axis's, and no check after
#: it can earn a point (each calls a sleeping function or a missing module).
SLEEPERS = """

import time


def add_channel_axis(images):
    time.sleep(3600)


def one_hot(labels, num_classes=10):
    time.sleep(3600)


def make_datasets(*args, **kwargs):
    time.sleep(3600)
"""
#: The cut. It equals the grader's default per-check limit (grader.plugin, 60 s) and the
#: per-call --timeout is 600 s, so whenever reaching add_channel_axis takes less than this
#: (about 25 s on a loaded 2-core machine, 5 s on a fast one) the cut falls inside that
#: call; and if a check's limit ever came first, no later check could earn a point anyway.
SLOW_STUDENT_TIMEOUT = 60
#: Preprocessing keeps its two normalize checks (normalize_values and normalize_float32_untouched
#: became one 1-point check when its hidden check took a point); each exercise's hidden checks
#: (test_<exercise>_hidden.py) run right after its visible ones.
SLOW_KEPT = {"activations": 8.0, "convolution": 20.0, "preprocessing": 2.0}


def test_a_student_over_the_time_limit_is_stopped_then_regraded_with_force(tmp_path):
    submissions, out = tmp_path / "submissions", tmp_path / "results"
    student = submissions / "slow"
    student.mkdir(parents=True)
    for name in ("activations", "convolution", "preprocessing"):
        shutil.copy(REPO_ROOT / "solutions" / f"{name}.py", student / f"{name}.py")
    with open(student / "preprocessing.py", "a") as stream:
        stream.write(SLEEPERS)
    first = course_grade(submissions, out, "--student-timeout", str(SLOW_STUDENT_TIMEOUT), "--timeout", "600")
    first.communicate(timeout=600)
    record = json.loads((out / "slow" / "grading.json").read_text())
    assert record["status"] == "timeout" and f"longer than {SLOW_STUDENT_TIMEOUT} s" in record["reason"], record
    assert record["score"] == 30 and {name: points for name, points in record["exercises"].items() if points} \
        == SLOW_KEPT, record
    tests = json.loads((out / "slow" / "results.json").read_text())["tests"]
    passed = [test["name"].split(":")[0] for test in tests if test["status"] == "passed"]
    assert passed == ["activations"] * 7 + ["convolution"] * 10 + ["preprocessing"] * 2, passed
    assert not any("add_channel_axis" in test["name"] and test["status"] == "passed" for test in tests)

    again = course_grade(submissions, out)
    stdout, _ = again.communicate(timeout=600)
    assert "1 already graded before this run" in stdout
    shutil.copy(REPO_ROOT / "solutions" / "preprocessing.py", student / "preprocessing.py")  # resubmitted
    forced = course_grade(submissions, out, "--force")
    stdout, stderr = forced.communicate(timeout=600)
    assert forced.returncode == 0, stderr[-3000:]
    record = json.loads((out / "slow" / "grading.json").read_text())
    assert record["status"] == "graded" and record["score"] == 42, record
    assert "0 already graded" in stdout and "mean 42.0" in stdout


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
    copy_cache(shared_cache, root / "cache-before")  # what honest gradings trained, for test_victims...
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


def _worker_processes(wait: float = 20.0, under: Path | None = None) -> list[str]:
    """Processes owned by a worker's dedicated uid still there after ``wait`` seconds (only
    those whose command line names ``under``, if given: other runs may share the machine).

    A killed worker takes a moment to go: its PID namespace is torn down after it dies.
    """
    deadline = time.monotonic() + wait
    while True:
        found = []
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                command = (entry / "cmdline").read_bytes()
                if entry.stat().st_uid >= UID_BASE and (under is None or os.fsencode(under) in command):
                    found.append(f"{entry.name}: {command[:80]!r}")
            except OSError:
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


#: The class a killed run is resumed on: one or more cases of every status, none that
#: reads another entry (the whole corpus is graded, uninterrupted, by ``graded_class``).
RESUME_CASES = ("reference", "syntax-error", "sys-exit-at-import", "os-exit-in-function", "infinite-loop",
                "allocate-50gb", "output-flood", "kill-everything", "zip-slip.zip", "zip-bomb.zip", "no-code",
                "partial", "missing-modules", "reply-bomb", "fork-bomb")


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_results(graded_class, tmp_path):
    submissions, out = tmp_path / "submissions", tmp_path / "results"
    for name in RESUME_CASES:
        entry = graded_class.submissions / name
        if entry.is_dir():
            shutil.copytree(entry, submissions / name, symlinks=True)
        else:
            submissions.mkdir(exist_ok=True)
            shutil.copy2(entry, submissions / name)
    uninterrupted = {ident: result for ident, result in student_results(graded_class.out).items()
                     if ident in {name.removesuffix(".zip") for name in RESUME_CASES}}
    assert len(uninterrupted) == len(RESUME_CASES)
    copy_cache(graded_class.out / ".train_cache", out / ".train_cache")
    process = course_grade(submissions, out, start_new_session=True)
    deadline = time.monotonic() + 1800
    while len(list(out.glob("*/grading.json"))) < len(RESUME_CASES) // 3 and time.monotonic() < deadline:
        time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()
    finished = len(list(out.glob("*/grading.json")))
    assert 0 < finished < len(RESUME_CASES)
    assert not _worker_processes(), "the kill left workers behind"

    resumed = course_grade(submissions, out)
    stdout, stderr = resumed.communicate(timeout=3600)
    assert resumed.returncode == 0, stderr[-3000:]
    assert f"{finished} already graded before this run" in stdout
    assert student_results(out) == uninterrupted
    assert (out / "gradebook.csv").read_text().count("\n") == len(RESUME_CASES) + 1

    again = course_grade(submissions, out)
    stdout, _ = again.communicate(timeout=600)
    assert f"{len(RESUME_CASES)} already graded before this run" in stdout


#: Students the cache-poisoning attacks aim at (they share training.py/keras_model.py).
VICTIMS = (VICTIM, "lazy-trainer")


@pytest.mark.slow
def test_after_the_hostile_class_fresh_code_and_victims_score_as_graded_alone(graded_class, tmp_path):
    """The class's cache, written by every attack, gives a fresh copy of solutions/ 100;
    each victim scores exactly what it scores graded alone with only honest entries."""
    fresh_subs, fresh_out = tmp_path / "fresh", tmp_path / "fresh-results"
    shutil.copytree(SOLUTIONS_DIR, fresh_subs / "fresh-solutions", ignore=shutil.ignore_patterns("__pycache__"))
    copy_cache(graded_class.out / ".train_cache", fresh_out / ".train_cache")
    alone_subs, alone_out = tmp_path / "alone", tmp_path / "alone-results"
    for victim in VICTIMS:
        shutil.copytree(graded_class.submissions / victim, alone_subs / victim)
    copy_cache(graded_class.out.parent / "cache-before", alone_out / ".train_cache")
    for process in [course_grade(fresh_subs, fresh_out), course_grade(alone_subs, alone_out)]:
        _, stderr = process.communicate(timeout=1800)
        assert process.returncode == 0, stderr[-3000:]
    fresh = json.loads((fresh_out / "fresh-solutions" / "grading.json").read_text())
    assert (fresh["status"], fresh["score"]) == ("graded", 100), fresh
    in_class, alone = student_results(graded_class.out), student_results(alone_out)
    for victim in VICTIMS:
        assert alone[victim] == in_class[victim], victim
