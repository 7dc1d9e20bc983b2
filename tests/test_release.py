"""The student release: no solution code, and the grader works in it."""

import subprocess
import sys

from grader.authoring.release import (
    leaked_solution_lines,
    solution_lines,
    write_release,
)
from grader.paths import REPO_ROOT


def test_release_has_no_solution_code_and_grades_the_stubs(tmp_path):
    release = tmp_path / "release"
    written = write_release(release)
    assert written
    assert not (release / "solutions").exists() and not (release / "tests").exists()
    assert (release / "exercises" / "convolution.py").exists() and (release / "data_cache" / "mnist.npz").exists()
    assert len(solution_lines()) > 50  # the leak check has something to look for
    assert leaked_solution_lines(release) == []
    done = subprocess.run([sys.executable, "-m", "pytest", "grader/", "-q", "-k", "conv2d or relu",
                           "-p", "no:cacheprovider", "--results", str(tmp_path / "r.json")],
                          cwd=release, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "not implemented yet" in done.stdout


def test_leak_detector_finds_a_copied_solution(tmp_path):
    (tmp_path / "convolution.py").write_text((REPO_ROOT / "solutions" / "convolution.py").read_text())
    assert leaked_solution_lines(tmp_path)
