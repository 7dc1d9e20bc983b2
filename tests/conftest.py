"""Shared helpers of the project's own tests: run the real grader in a process of its own.

Every run is ``pytest grader/ ...`` in a fresh process forked from one warm server
(``grader.warm_grader.WarmGrader``), which imported TensorFlow and the checks once for the
whole session: the same run as a plain ``python -m pytest grader/``, seconds cheaper.
"""

from __future__ import annotations

import atexit
import re
import threading
from pathlib import Path

import pytest

from grader.launch import GradingRun, grade, grader_args
from grader.warm_grader import WarmGrader

REPO = Path(__file__).resolve().parent.parent
#: A line TensorFlow, absl or CUDA prints at start-up: never shown to a student.
TF_LOG = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog|cuInit|oneDNN custom operations|cuda drivers", re.M)

_WARM: list[WarmGrader] = []
_WARM_LOCK = threading.Lock()


def warm_grader() -> WarmGrader:
    """The session's warm grader server, started on first use."""
    with _WARM_LOCK:
        if not _WARM:
            _WARM.append(WarmGrader())
            atexit.register(_WARM[0].close)
        return _WARM[0]


def run_grader(target, tmp_path: Path, *extra: str, cwd: Path = REPO, timeout: int = 1200) -> GradingRun:
    """``pytest grader/ --target TARGET`` as a student or instructor would run it."""
    results = tmp_path / f"results-{len(list(tmp_path.glob('results-*')))}.json"
    return grade(grader_args(target, results, *extra, grader_dir=Path("grader"), quiet=False), results,
                 warm=warm_grader(), cwd=cwd, timeout=timeout)


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
