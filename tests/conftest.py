"""Shared helpers of the project's own tests: run the real grader in a process of its own.

Every run is ``pytest grader/ ...`` in a fresh process forked from one warm server
(``grader.launch.WarmGrader``), which imported TensorFlow and the checks once for the
whole session: the same run as a plain ``python -m pytest grader/``, seconds cheaper.
"""

from __future__ import annotations

import atexit
import json
import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.launch import WarmGrader
from grader.tf_runtime import quiet_environment

REPO = Path(__file__).resolve().parent.parent
#: A line TensorFlow, absl or CUDA prints at start-up: never shown to a student.
TF_LOG = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog|cuInit|oneDNN custom operations|cuda drivers", re.M)


@dataclass
class GraderRun:
    returncode: int
    output: str
    results: dict

    def exercise_scores(self) -> dict[str, float]:
        return {name: entry["score"] for name, entry in self.results["extra_data"]["exercises"].items()}

    def failed_checks(self) -> list[dict]:
        return [test for test in self.results["tests"] if test["status"] != "passed"]


_WARM: list[WarmGrader] = []
_WARM_LOCK = threading.Lock()


def warm_grader() -> WarmGrader:
    """The session's warm grader server, started on first use."""
    with _WARM_LOCK:
        if not _WARM:
            _WARM.append(WarmGrader())
            atexit.register(_WARM[0].close)
        return _WARM[0]


def run_grader(target, tmp_path: Path, *extra: str, cwd: Path = REPO, timeout: int = 1200) -> GraderRun:
    """``pytest grader/ --target TARGET`` as a student or instructor would run it."""
    index = len(list(tmp_path.glob("results-*")))
    results, printed = tmp_path / f"results-{index}.json", tmp_path / f"output-{index}.txt"
    args = ["grader/", "--target", str(target), "--results", str(results), "-p", "no:cacheprovider", *extra]
    run = warm_grader().start(args, cwd, quiet_environment(PYTHONDONTWRITEBYTECODE="1"), printed)
    try:
        returncode = run.wait(timeout)
    except subprocess.TimeoutExpired:
        run.kill()
        raise
    output = printed.read_text(errors="replace")
    assert results.exists(), f"the grader wrote no results.json:\n{output[-3000:]}"
    return GraderRun(returncode, output, json.loads(results.read_text()))


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """One training cache for the whole test session (the bars train once per content)."""
    return tmp_path_factory.mktemp("train-cache")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the whole-class gradings (``test_bulk``, slow) last.

    By then the session's training cache holds the reference's bar runs (trained by
    ``test_grading``), so a class sharing the reference's model files trains nothing.
    """
    def grades_a_class(item: pytest.Item) -> bool:
        return item.module.__name__.endswith("test_bulk") and item.get_closest_marker("slow") is not None

    items.sort(key=grades_a_class)
