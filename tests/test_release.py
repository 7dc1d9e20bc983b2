"""The student release: no solution code, no withheld check, and the grader works in it."""

import json
import shutil
import subprocess
import sys

import pytest

from grader.authoring.release import (
    ReleaseError,
    check_release,
    leaked_solution_lines,
    leaked_withheld_checks,
    solution_lines,
    write_release,
)
from grader.check_spec import hidden_files
from grader.launch import list_checks
from grader.paths import REPO_ROOT


@pytest.fixture(scope="module")
def checks() -> list[dict]:
    return list_checks()


@pytest.fixture(scope="module")
def release(tmp_path_factory, checks):
    folder = tmp_path_factory.mktemp("release") / "release"
    assert write_release(folder, checks)
    return folder


def withheld(checks: list[dict]) -> list[dict]:
    return [check for check in checks if check["visibility"] != "visible"]


def test_release_has_no_solution_code_and_grades_the_stubs(release, tmp_path):
    assert not (release / "solutions").exists() and not (release / "tests").exists()
    assert (release / "exercises" / "convolution.py").exists() and (release / "data_cache" / "mnist.npz").exists()
    assert len(solution_lines()) > 50  # the leak check has something to look for
    assert leaked_solution_lines(release) == []
    done = subprocess.run([sys.executable, "-m", "pytest", "grader/", "-q", "-k", "not bar",
                           "-p", "no:cacheprovider", "--results", str(tmp_path / "r.json")],
                          cwd=release, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "not implemented yet" in done.stdout
    # The withheld checks are not there, and the student is told how many the instructor runs.
    assert "7 more checks (7 points) are run by your instructor" in done.stdout
    results = json.loads((tmp_path / "r.json").read_text())
    assert {test["visibility"] for test in results["tests"]} == {"visible"}


def test_release_carries_no_withheld_check_but_their_manifest(release, checks):
    assert len(hidden_files()) == 7 and len(withheld(checks)) == 7  # the instructor's copy has them
    assert not list(release.rglob("*_hidden.py"))
    assert leaked_withheld_checks(release, checks) == []
    check_release(release, checks)
    text = "\n".join(path.read_text(errors="replace") for path in release.rglob("*") if path.is_file()
                     and path.suffix in (".py", ".md", ".json", ".ipynb", ".txt"))
    for check in withheld(checks):
        assert check["title"] not in text and check["nodeid"].split("::")[1] not in text
    manifest = json.loads((release / "grader" / "withheld_checks.json").read_text())
    assert manifest["exercises"] == {check["exercise"]: {"checks": 1, "points": 1.0} for check in withheld(checks)}
    assert "title" not in json.dumps(manifest) and "test_" not in json.dumps(manifest)


def test_leak_detector_finds_a_copied_solution(tmp_path):
    (tmp_path / "convolution.py").write_text((REPO_ROOT / "solutions" / "convolution.py").read_text())
    assert leaked_solution_lines(tmp_path)


def test_leak_detector_finds_a_withheld_file_name_or_title(tmp_path, checks):
    secret = withheld(checks)[0]
    shutil.copyfile(hidden_files()[0], tmp_path / "copied.py")  # the content of a withheld file
    (tmp_path / "test_pooling_hidden.py").write_text("")  # a withheld file by its name
    (tmp_path / "notes.md").write_text(f"the instructor also checks: {secret['title']}\n")
    found = leaked_withheld_checks(tmp_path, checks)
    assert {where for where, _ in found} == {"copied.py", "test_pooling_hidden.py", "notes.md"}
    assert ("notes.md", secret["title"]) in found
    with pytest.raises(ReleaseError, match="leaked"):
        check_release(tmp_path, checks)
