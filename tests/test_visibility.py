"""Per-check visibility (issue 13, part 1): withheld checks are declared, validated, graded,
reported to the instructor, hidden from the student and left out of a release.

Real parts throughout: markers are collected by a real pytest, gradings are real runs
of ``pytest grader/`` on real code (a corpus mistake), the otter test files are the
autograder's own.
"""

from __future__ import annotations

import json
import zipfile

import pytest

from grader.authoring.otter_build import render_test_files
from grader.bulk.feedback import feedback_text
from grader.bulk.record import GradingRecord
from grader.check_spec import InvalidCheck, VISIBILITIES, spec_of
from grader.feedback_page import render_page
from grader.feedback_page.page import HIDDEN_CHECK
from grader.launch import grade, grader_args, list_checks
from grader.notebook.otter_cases import WITHHELD_FAILURE, otter_case, use_verdict, withheld_key
from grader.paths import EXERCISE_MODULES
from grader.report import board_from_results, gradescope_results
from tests.corpus.build import RUBRIC, materialize
from tests.corpus.mistakes import BY_ID


# --- declaring a check's visibility ------------------------------------------------------

class _Specs:
    """A pytest plugin that parses the spec of every collected test (or keeps the error)."""

    def __init__(self):
        self.specs: dict[str, object] = {}

    def pytest_collection_modifyitems(self, items):
        for item in items:
            try:
                self.specs[item.name] = spec_of(item)
            except InvalidCheck as error:
                self.specs[item.name] = error


def collect(folder, files: dict[str, str]) -> dict[str, object]:
    """{test name: CheckSpec or InvalidCheck} of the tests in ``files``, collected by pytest."""
    for name, text in files.items():
        (folder / name).write_text("import pytest\n\n" + text)
    (folder / "pytest.ini").write_text("[pytest]\n")  # not the project's settings
    plugin = _Specs()
    pytest.main([str(folder), "--collect-only", "-q", "-p", "no:cacheprovider", "--import-mode=importlib",
                 "--rootdir", str(folder), "-c", str(folder / "pytest.ini"), "-W", "ignore"], plugins=[plugin])
    return plugin.specs


MARKED = "@pytest.mark.points(1{kwargs})\ndef test_{name}():\n    '''{name} title'''\n"


def test_visibility_is_validated_and_withheld_checks_live_only_in_hidden_files(tmp_path):
    specs = collect(tmp_path, {
        "test_pooling.py": MARKED.format(kwargs="", name="plain") + MARKED.format(kwargs=", visibility='visible'",
                                                                                  name="explicit")
        + MARKED.format(kwargs=", visibility='hidden'", name="hidden_in_a_visible_file")
        + MARKED.format(kwargs=", visibility='secret'", name="bad_value"),
        "test_pooling_hidden.py": "".join(MARKED.format(kwargs=f", visibility={value!r}", name=value)
                                          for value in VISIBILITIES[1:])
        + MARKED.format(kwargs="", name="visible_in_a_hidden_file")
        + MARKED.format(kwargs=", exercise='model', visibility='hidden'", name="other_exercise"),
    })
    assert specs["test_plain"].visibility == specs["test_explicit"].visibility == "visible"
    assert not specs["test_plain"].withheld
    for value in VISIBILITIES[1:]:  # hidden, after_due_date, after_published
        assert specs[f"test_{value}"].visibility == value and specs[f"test_{value}"].withheld
        assert specs[f"test_{value}"].exercise == "pooling"  # test_pooling_hidden.py is pooling's
    assert specs["test_other_exercise"].exercise == "model"
    assert isinstance(specs["test_bad_value"], InvalidCheck) and "'secret'" in str(specs["test_bad_value"])
    assert isinstance(specs["test_hidden_in_a_visible_file"], InvalidCheck)
    assert "_hidden.py" in str(specs["test_hidden_in_a_visible_file"])
    assert isinstance(specs["test_visible_in_a_hidden_file"], InvalidCheck)


@pytest.fixture(scope="module")
def checks() -> list[dict]:
    return list_checks()


def withheld_checks(checks: list[dict]) -> list[dict]:
    return [check for check in checks if check["visibility"] != "visible"]


def test_each_exercise_has_one_withheld_point_and_its_total_is_unchanged(checks):
    withheld = withheld_checks(checks)
    assert sorted(check["exercise"] for check in withheld) == sorted(EXERCISE_MODULES)
    for check in withheld:
        assert check["points"] == 1 and check["nodeid"].startswith(f"grader/test_{check['exercise']}_hidden.py::")
    totals = {name: sum(c["points"] for c in checks if c["exercise"] == name) for name in EXERCISE_MODULES}
    assert totals == RUBRIC


# --- grading: results.json, feedback.md, the feedback page -------------------------------

@pytest.fixture(scope="module")
def pooling_run(tmp_path_factory):
    """A real grading of a pooling mistake (averages instead of max), pooling only."""
    root = tmp_path_factory.mktemp("visibility")
    code = materialize(BY_ID["pool_average"], root / "code")
    results = root / "results.json"
    return grade(grader_args(code, results, "--exercise", "pooling"), results)


@pytest.fixture(scope="module")
def pooling_results(pooling_run) -> dict:
    return pooling_run.results


def test_results_json_carries_each_checks_visibility_and_reads_back(pooling_results, checks):
    expected = {f"{c['exercise']}: {c['title']}": c["visibility"] for c in checks if c["exercise"] == "pooling"}
    assert {test["name"]: test["visibility"] for test in pooling_results["tests"]} == expected
    assert sorted(expected.values()).count("hidden") == 1
    board = board_from_results(pooling_results)
    again = gradescope_results(board, 0.0)
    assert [test["visibility"] for test in again["tests"]] == [test["visibility"] for test in pooling_results["tests"]]
    # A results.json of an older grader (no visibility) still reads: every check visible.
    old = {**pooling_results, "tests": [{k: v for k, v in t.items() if k != "visibility"}
                                        for t in pooling_results["tests"]]}
    assert {check.visibility for check in board_from_results(old).checks} == {"visible"}


def hidden_test(results: dict) -> dict:
    (test,) = [test for test in results["tests"] if test["visibility"] != "visible"]
    return test


def test_feedback_hides_a_withheld_checks_title_and_message_but_counts_its_points(pooling_results):
    hidden = hidden_test(pooling_results)
    assert hidden["status"] == "failed" and "average" in hidden["output"]  # the grader's own message
    title = hidden["name"].split(": ", 1)[1]
    record = GradingRecord(id="ada", status="graded")
    text = feedback_text(record, pooling_results)
    assert f"- {HIDDEN_CHECK} (0 / 1 points)" in text
    assert title not in text and hidden["output"].splitlines()[0] not in text
    assert f"/ {pooling_results['max_score']:g}**" in text  # the withheld point is in the total
    page = render_page(pooling_results, None, record.to_json())
    assert HIDDEN_CHECK in page and title not in page and hidden["output"].splitlines()[0] not in page
    visible_failure = next(t for t in pooling_results["tests"] if t["status"] == "failed" and t is not hidden)
    assert visible_failure["name"].split(": ", 1)[1] in text  # visible checks are shown as before


def test_the_terminal_report_of_a_local_run_shows_withheld_checks(pooling_run):
    hidden = hidden_test(pooling_run.results)
    assert hidden["name"].split(": ", 1)[1] in pooling_run.output
    assert "more check" not in pooling_run.output  # the instructor's copy runs them: nothing is left out


# --- the otter autograder ----------------------------------------------------------------

def test_otter_cases_of_withheld_checks_are_hidden_and_never_name_them(checks):
    files = render_test_files(checks)
    for module in EXERCISE_MODULES:
        own = [check for check in checks if check["exercise"] == module]
        text = files[f"{module}.py"]
        withheld = [check for check in own if check["visibility"] != "visible"]
        assert text.count("hidden=True") == len(withheld) == 1
        assert text.count("@test_case(") == len(own)
        for check in own:
            assert (check["title"] in text) == (check["visibility"] == "visible")
        for check in withheld:
            assert repr(withheld_key(check["title"])) in text
            assert check["nodeid"].split("::")[1] not in text


def test_an_otter_case_of_a_withheld_check_replays_the_verdict_without_its_message(pooling_results):
    hidden = hidden_test(pooling_results)
    key = withheld_key(hidden["name"].split(": ", 1)[1])
    use_verdict(pooling_results)
    try:
        with pytest.raises(AssertionError) as failed:
            otter_case({}, "pooling", key)
        assert str(failed.value) == WITHHELD_FAILURE
        passed = json.loads(json.dumps(pooling_results))
        hidden_test(passed)["status"] = "passed"
        use_verdict(passed)
        otter_case({}, "pooling", key)  # passes
        with pytest.raises(AssertionError, match="did not report this check"):
            otter_case({}, "model", key)
    finally:
        use_verdict(None)


def test_the_autograder_zip_marks_exactly_the_withheld_cases_hidden(tmp_path, checks):
    from otter.test_files.exception_test import ExceptionTestFile

    from grader.authoring.otter_build import build_autograder

    with zipfile.ZipFile(build_autograder(tmp_path / "autograder.zip", checks)) as archive:
        names = archive.namelist()
        for check in withheld_checks(checks):  # the autograder runs them: the grader in it has them
            assert f"files/{check['nodeid'].split('::')[0]}" in names
        for module in EXERCISE_MODULES:
            text = archive.read(f"tests/{module}.py").decode()
            cases = ExceptionTestFile.from_string(text, f"tests/{module}.py").test_cases  # as otter reads it
            own = [check for check in checks if check["exercise"] == module]
            assert [case.hidden for case in cases] == [check["visibility"] != "visible" for check in own]
            assert [case.points for case in cases] == [check["points"] for check in own]
            for case, check in zip(cases, own):
                assert (check["title"] in case.name) == (not case.hidden)
