"""The class dashboard (``RESULTS/summary.html``) and the change list of ``course grade --force``.

The dashboard is rebuilt from a results folder whose ``results.json`` files come from real
grader runs (``pytest grader/ -k "not bar"`` on the solutions, the stubs and a partly
correct submission: seconds each, forked from the session's warm grader), with records
(``GradingRecord``) around them for students whose ids, reasons and flags are hostile
text. The page is opened in a real headless Chromium. The change list is checked through
``grade_class`` itself with a stand-in for the grading process, and one slow test grades a
tiny class with the real ``course grade --similarity``.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

from grader.bulk import Settings, grade_class
from grader.bulk.changes import Change, read_changes, write_changes
from grader.bulk.dashboard import student_href
from grader.bulk.gradebook import rebuild
from grader.bulk.record import GradingRecord
from grader.paths import EXERCISE_MODULES, EXERCISES_DIR, REPO_ROOT, SOLUTIONS_DIR
from tests.browser import view
from tests.conftest import run_grader
from tests.corpus.build import changed_sources
from tests.corpus.disguise import disguise
from tests.corpus.mistakes import BY_ID as MISTAKES
from tests.html_tables import links, tables
from tests.stand_in import fake_grading

SCRIPT_ID = "<script>alert(1)</script>"
TD_ID = "</td>"
#: Student folders named with markup (a file name cannot hold "/": the two ids above come
#: from records, as a forged or corrupted grading.json would give them).
IMG_ID = "<img src=x onerror=alert(1)>"
QUOTE_ID = 'x" onmouseover="alert(1)'
AMP_ID = "bob & co #1?%"
COLUMNS = 3 + len(EXERCISE_MODULES) + 2  # student, status, total, exercises, seconds, reason


@pytest.fixture(scope="module")
def real_results(tmp_path_factory) -> dict[str, dict]:
    """results.json of three real grader runs without the accuracy bars."""
    scratch = tmp_path_factory.mktemp("runs")
    partly = scratch / "partly"
    partly.mkdir()
    sources = changed_sources(MISTAKES["softmax_global_max"])
    for name in EXERCISE_MODULES:
        default = (EXERCISES_DIR if name == "pooling" else SOLUTIONS_DIR) / f"{name}.py"
        (partly / f"{name}.py").write_text(sources.get(name) or default.read_text())
    targets = {"solutions": "solutions", "stubs": "exercises", "partly": partly}
    for name in targets:
        (scratch / f"run-{name}").mkdir()
    with ThreadPoolExecutor(len(targets)) as pool:  # forked from one warm server, side by side
        done = {name: pool.submit(run_grader, target, scratch / f"run-{name}", "-k", "not bar")
                for name, target in targets.items()}
        runs = {}
        for name, future in done.items():
            run = future.result()
            assert run.returncode == 0, run.output[-2000:]
            runs[name] = run.results
    assert runs["solutions"]["score"] == runs["solutions"]["max_score"] > runs["partly"]["score"] > 0
    assert runs["stubs"]["score"] == 0
    return runs


def publish(out: Path, folder: str, ident: str, results: dict, status: str = "graded", reason: str = "",
            flags: tuple[dict, ...] = (), seconds: float = 1.0) -> GradingRecord:
    """A student's files as ``course grade`` publishes them (totals copied from results.json)."""
    record = GradingRecord(ident, status, entry=folder, entry_key="0" * 16, reason=reason,
                           score=float(results["score"]), max_score=float(results["max_score"]),
                           exercises={name: float(e["score"]) for name, e in results["extra_data"]["exercises"].items()},
                           seconds=seconds, flagged=bool(flags), flags=list(flags))
    (out / folder).mkdir(parents=True)
    (out / folder / "results.json").write_text(json.dumps(results))
    (out / folder / "grading.json").write_text(json.dumps(record.to_json()))
    return record


@pytest.fixture(scope="module")
def class_results(tmp_path_factory, real_results) -> tuple[Path, list[GradingRecord]]:
    out = tmp_path_factory.mktemp("dashboard") / "results"
    flag = {"file": "model.py", "line": 3, "reason": "imports the grader (<script>alert(2)</script>)"}
    records = [
        publish(out, "alice", "alice", real_results["solutions"], seconds=12.5),
        publish(out, IMG_ID, IMG_ID, real_results["partly"], flags=(flag,), seconds=20.1),
        publish(out, AMP_ID, AMP_ID, real_results["stubs"], "timeout",
                "relu took longer than 30 s </td><td>injected", seconds=31.0),
        publish(out, QUOTE_ID, QUOTE_ID, real_results["partly"], seconds=5.0),
        publish(out, "ünï cødé", "ünï cødé", real_results["solutions"], seconds=2.0),
        publish(out, "forged-1", SCRIPT_ID, real_results["stubs"], "invalid", "<b>no</b> exercise modules found",
                seconds=0.1),
        publish(out, "forged-2", TD_ID, real_results["solutions"], "crashed", "the worker died", seconds=44.4),
    ]
    write_changes(out, [Change("alice", 80.0, 84.0, "graded", "graded"),
                        Change(SCRIPT_ID, 0.0, 0.0, "crashed", "invalid")])
    (out / "similarity").mkdir()
    (out / "similarity" / "similarity.json").write_text(json.dumps({"modules": [
        {"module": "convolution", "excluded": None, "pairs": [{"a": IMG_ID, "b": QUOTE_ID, "score": 0.9987}]},
        {"module": "model", "excluded": "too small", "pairs": []}]}))
    rebuild(out)
    for ident in ("alice", IMG_ID, AMP_ID):  # another engineer's page; here a stand-in
        (out / ident / "feedback.html").write_text(f"<p>feedback of {ident}</p>")
    return out, records


def test_the_summary_links_every_student_to_their_feedback_page(class_results):
    out, records = class_results
    page = out / "summary.html"
    hrefs = links(page.read_text())["students"]
    assert hrefs == [student_href(record.id) for record in sorted(records, key=lambda r: r.id)]
    for record in records:
        target = Path(unquote(urlparse(urljoin(page.resolve().as_uri(), student_href(record.id))).path))
        if record.entry == record.id:  # a real folder: the link lands on its feedback.html
            assert target == (out / record.id / "feedback.html").resolve()
            assert target.parent.is_dir()
        assert urlparse(urljoin(page.resolve().as_uri(), student_href(record.id))).scheme == "file"
    assert (out / "alice" / "feedback.html").is_file() and (out / IMG_ID / "feedback.html").is_file()
    assert student_href(AMP_ID) == "bob%20%26%20co%20%231%3F%25/feedback.html"
    assert student_href("javascript:alert(1)") == "javascript%3Aalert%281%29/feedback.html"  # no scheme


def test_every_text_from_a_submission_is_escaped(class_results):
    out, records = class_results
    html = (out / "summary.html").read_text()
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;/td&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "x&#34; onmouseover=&#34;alert(1)" in html
    rows = tables(html)["students"]
    assert [row[0] for row in rows] == sorted(record.id for record in records)
    assert {len(row) for row in rows} == {COLUMNS}
    by_id = {row[0]: row for row in rows}
    assert by_id[AMP_ID][-1] == "relu took longer than 30 s </td><td>injected"
    assert by_id[IMG_ID][-1] == "flagged: model.py:3 imports the grader (<script>alert(2)</script>)"
    assert tables(html)["flagged"] == [[IMG_ID, "model.py:3 imports the grader (<script>alert(2)</script>)"]]
    assert tables(html)["similarity"] == [["convolution", IMG_ID, QUOTE_ID, "0.999"]]


def test_the_numbers_are_the_records_and_results(class_results):
    out, records = class_results
    html = (out / "summary.html").read_text()
    summary = json.loads((out / "summary.json").read_text())
    found = tables(html)
    for row, name in zip(found["exercises"], EXERCISE_MODULES):
        points = [record.exercises.get(name, 0.0) for record in records]
        assert row[:3] == [name, f"{round(statistics.fmean(points), 2):g}", f"{statistics.median(points):g}"]
    # the rate: students who failed the check / students whose results.json list it
    listed = [json.loads(path.read_text()) for path in out.glob("*/results.json")
              if GradingRecord.read(path.parent / "grading.json").id == path.parent.name]
    assert len(listed) == 5  # the two records whose ids are not their folders have no results of theirs
    counts = [int(row[1].split(" / ")[0]) for row in found["failed"]]
    assert counts == sorted(counts, reverse=True) and len(found["failed"]) == 10
    for check, ratio, rate, _ in found["failed"]:
        failed = sum(any(t["name"] == check and t["status"] != "passed" for t in r["tests"]) for r in listed)
        present = sum(any(t["name"] == check for t in r["tests"]) for r in listed)
        assert ratio == f"{failed} / {present}" and rate == f"{round(100 * failed / present)}%", check
    slow = sorted(records, key=lambda r: -r.seconds)[:5]
    assert [row[0] for row in found["slowest"]] == [r.id for r in slow]
    assert found["changes"] == [["alice", "80", "84", "graded", "graded"], [SCRIPT_ID, "0", "0", "crashed", "invalid"]]
    assert summary["changes"][0]["total_changed"] and not summary["changes"][1]["total_changed"]
    markdown = (out / "summary.md").read_text()
    assert "- 1 total changed since the last run (1 more student changed status only): see changes.md" in markdown
    assert f"- convolution: {IMG_ID} and {QUOTE_ID}, 0.999" in markdown


def test_the_dashboard_in_a_real_browser(class_results, tmp_path):
    out, records = class_results
    hrefs = {record.id: student_href(record.id) for record in records}
    selectors = ("script", "img", "iframe", "#students tbody tr", "#students tbody td", "#failed tbody tr",
                 "#flagged tbody tr", "#slowest tbody tr", "#changes tbody tr", "#similarity tbody tr",
                 ".histogram .bin", *(f'#students a[href="{href}"]' for href in hrefs.values()))
    seen = view(out / "summary.html", tmp_path / "summary.png", selectors)
    assert seen.errors == []
    assert seen.requests == [(out / "summary.html").resolve().as_uri()]
    assert seen.screenshot.stat().st_size > 20_000 and seen.height > 1000
    assert seen.width <= 1200  # no horizontal overflow at 1200 px
    counts = seen.counts
    assert counts["script"] == counts["img"] == counts["iframe"] == 0
    assert counts["#students tbody tr"] == len(records) and counts["#students tbody td"] == len(records) * COLUMNS
    assert counts["#failed tbody tr"] == 10 and counts["#flagged tbody tr"] == 1 and counts["#slowest tbody tr"] == 5
    assert counts["#changes tbody tr"] == 2 and counts["#similarity tbody tr"] == 1 and counts[".histogram .bin"] == \
        len(json.loads((out / "summary.json").read_text())["histogram"]) == 9  # 0-9 ... 80-84 (no bars: 84 points)
    assert all(counts[f'#students a[href="{href}"]'] == 1 for href in hrefs.values()), counts
    for text in (SCRIPT_ID, TD_ID, IMG_ID, QUOTE_ID, AMP_ID, "Checks failed most often", "Points per exercise",
                 "Flagged submissions", "Slowest students", "1 total changed since the last run",
                 "imports the grader (<script>alert(2)</script>)", "relu took longer than 30 s </td><td>injected"):
        assert text in seen.text, text


def test_an_empty_class_has_a_page_too(tmp_path):
    rebuild(tmp_path)
    assert "No student graded yet." in (tmp_path / "summary.html").read_text()


# -- course grade --force: which totals changed ------------------------------------------------

def test_force_lists_the_totals_that_changed_and_only_then(tmp_path, monkeypatch):
    submissions, out = tmp_path / "submissions", tmp_path / "results"
    for name, text in (("ann", "points = 40"), ("ben", "points = 60"), ("cat", "points = 70"),
                       (IMG_ID, "points = 10")):
        (submissions / name).mkdir(parents=True)
        (submissions / name / "activations.py").write_text(text)
    settings = Settings(out=out)
    fake_grading(monkeypatch, {})
    first = grade_class(submissions, settings, progress=False)
    assert first["changes"] == [] and not (out / "changes.json").exists() and not (out / "changes.md").exists()

    # a grader fix: ann and <img> gain points, cat now crashes with the same total, ben is unchanged;
    # dan is new (graded for the first time: not a change)
    fake_grading(monkeypatch, {"ann": 2.0, IMG_ID: 5.5})
    (submissions / "cat" / "activations.py").write_text("points = 70  # crash")
    (submissions / "dan").mkdir()
    (submissions / "dan" / "activations.py").write_text("points = 1")
    forced = grade_class(submissions, settings, progress=False, force=True)
    expected = [Change(IMG_ID, 10.0, 15.5, "graded", "graded"), Change("ann", 40.0, 42.0, "graded", "graded"),
                Change("cat", 70.0, 70.0, "graded", "crashed")]
    assert read_changes(out) == expected
    assert json.loads((out / "changes.json").read_text())["changes"] == [c.to_json() for c in expected]
    assert forced["changes"] == [c.to_json() for c in expected]
    markdown = (out / "changes.md").read_text()
    assert "2 totals changed since the last run (1 more student changed status only)" in markdown
    assert f"| {IMG_ID} | 10 | 15.5 | graded | graded |" in markdown and "| cat | 70 | 70 | graded | crashed |" in markdown
    assert "dan" not in markdown and "ben" not in markdown
    assert "- 2 totals changed since the last run (1 more student changed status only): see changes.md" in \
        (out / "summary.md").read_text()
    html = (out / "summary.html").read_text()
    assert tables(html)["changes"] == [[IMG_ID, "10", "15.5", "graded", "graded"], ["ann", "40", "42", "graded", "graded"],
                                       ["cat", "70", "70", "graded", "crashed"]]

    # the next run without --force describes itself: no change list
    grade_class(submissions, settings, progress=False)
    assert not (out / "changes.json").exists() and not (out / "changes.md").exists()
    assert 'id="changes"' not in (out / "summary.html").read_text()
    # a --force run that changes nobody writes none either
    assert grade_class(submissions, settings, progress=False, force=True)["changes"] == []
    assert not (out / "changes.json").exists()


def test_the_cli_says_how_many_totals_changed(tmp_path, monkeypatch, capsys):
    from grader.cli import main

    submissions, out = tmp_path / "submissions", tmp_path / "results"
    (submissions / "ann").mkdir(parents=True)
    (submissions / "ann" / "activations.py").write_text("points = 6")
    fake_grading(monkeypatch, {})
    assert main(["grade", str(submissions), "--out", str(out)]) == 0
    assert "changed since the last run" not in capsys.readouterr().out
    fake_grading(monkeypatch, {"ann": 2.0})
    assert main(["grade", str(submissions), "--out", str(out), "--force"]) == 0
    printed = capsys.readouterr().out
    assert "1 total changed since the last run: see changes.md" in printed and "summary.html" in printed


# -- the real thing ------------------------------------------------------------------------------

@pytest.mark.slow
def test_course_grade_writes_the_dashboard_and_the_similarity_of_a_tiny_class(tmp_path):
    """Two students graded for real (no model modules, so no accuracy bar trains): the
    dashboard's rows, totals and links, the similarity report's pair, in Chromium."""
    submissions, out = tmp_path / "submissions", tmp_path / "results"
    first, second = submissions / IMG_ID, submissions / "bob"
    first.mkdir(parents=True)
    second.mkdir()
    shutil.copy(SOLUTIONS_DIR / "activations.py", first / "activations.py")
    shutil.copy(SOLUTIONS_DIR / "pooling.py", first / "pooling.py")
    (second / "activations.py").write_text(disguise((SOLUTIONS_DIR / "activations.py").read_text()))
    done = subprocess.run([sys.executable, "-m", "grader.cli", "grade", str(submissions), "--out", str(out),
                           "--workers", "2", "--timeout", "20", "--similarity"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "summary.html" in done.stdout and "similarity: 1 pair at or above the thresholds" in done.stdout
    records = {r.id: r for r in (GradingRecord.read(p) for p in out.glob("*/grading.json"))}
    assert records[IMG_ID].score == 18 and records["bob"].score == 8, records
    html = (out / "summary.html").read_text()
    assert [row[:3] for row in tables(html)["students"]] == [[IMG_ID, "graded", "18 / 100"], ["bob", "graded", "8 / 100"]]
    assert tables(html)["similarity"] == [["activations", IMG_ID, "bob", "1.000"]]
    seen = view(out / "summary.html", tmp_path / "summary.png",
                ("img", "script", f'a[href="{student_href(IMG_ID)}"]', 'a[href="similarity/similarity.html"]'))
    assert seen.errors == [] and seen.requests == [(out / "summary.html").resolve().as_uri()]
    assert seen.counts["img"] == seen.counts["script"] == 0 and seen.counts[f'a[href="{student_href(IMG_ID)}"]'] >= 2
    assert seen.counts['a[href="similarity/similarity.html"]'] == 1
    report = json.loads((out / "similarity" / "similarity.json").read_text())
    assert [(p["a"], p["b"]) for p in report["modules"][0]["pairs"]] == [(IMG_ID, "bob")]
    page = view(out / "similarity" / "similarity.html", tmp_path / "similarity.png", ("img", "table.side-by-side"))
    assert page.errors == [] and page.counts["img"] == 0 and page.counts["table.side-by-side"] >= 1
