"""Shared helpers of the project's own tests: run the real grader in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.tf_runtime import quiet_environment

REPO = Path(__file__).resolve().parent.parent


@dataclass
class GraderRun:
    returncode: int
    output: str
    results: dict

    def exercise_scores(self) -> dict[str, float]:
        return {name: entry["score"] for name, entry in self.results["extra_data"]["exercises"].items()}

    def failed_checks(self) -> list[dict]:
        return [test for test in self.results["tests"] if test["status"] != "passed"]


def run_grader(target, tmp_path: Path, *extra: str, cwd: Path = REPO, timeout: int = 1200) -> GraderRun:
    """``pytest grader/ --target TARGET`` as a student or instructor would run it."""
    results = tmp_path / f"results-{len(list(tmp_path.glob('results-*')))}.json"
    command = [sys.executable, "-m", "pytest", "grader/", "--target", str(target),
               "--results", str(results), "-p", "no:cacheprovider", *extra]
    env = quiet_environment(PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    output = done.stdout + done.stderr
    assert results.exists(), f"the grader wrote no results.json:\n{output[-3000:]}"
    return GraderRun(done.returncode, output, json.loads(results.read_text()))


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
