"""The ``course`` command's one error path: a ``CourseError`` becomes ``course CMD: message``, exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from grader.paths import REPO_ROOT


def course(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("make_args, message", [
    (lambda tmp: ["release", str(tmp)], "already exists"),
    (lambda tmp: ["extract", str(tmp / "notes.txt"), str(tmp / "out")], "expected a .ipynb notebook or a .py file"),
    (lambda tmp: ["extract", str(tmp / "missing.ipynb"), str(tmp / "out")], "not a readable notebook"),
    (lambda tmp: ["grade", str(tmp / "none"), "--out", str(tmp / "r")], "is not a folder of submissions"),
    (lambda tmp: ["similarity", str(tmp / "none"), "--out", str(tmp / "r")], "is not a folder of submissions"),
    (lambda tmp: ["similarity", str(tmp), "--out", str(tmp)], "cannot be the submissions folder"),
])
def test_a_course_error_is_one_line_and_exit_2(tmp_path, make_args, message):
    (tmp_path / "notes.txt").write_text("not a notebook")
    args = make_args(tmp_path)
    done = course(*args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"course {args[0]}: ") and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
