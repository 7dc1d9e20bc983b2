"""``CheckSpec``: what a grader check is worth, parsed once at collection from its marker.

A check is a test function in a ``grader/test_<exercise>.py`` file with exactly one
``@pytest.mark.points(n[, exercise=...])``. Its spec is everything the plugin, the score
table, ``results.json``, the notebook and the otter build need to know about it:

    CheckSpec(nodeid="grader/test_activations.py::test_relu_values", exercise="activations",
              title="relu matches max(x, 0) elementwise", points=2.0, bar=False, time_limit=60)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from grader.paths import EXERCISE_MODULES

#: The folder of the checks: a test is a check only if it is defined here.
CHECKS_DIR = Path(__file__).resolve().parent
#: The module of the accuracy-bar checks (reported after the exercises).
BARS_MODULE = "test_accuracy_bars.py"
#: Seconds a check may run unless its ``@pytest.mark.timeout(s)`` says otherwise.
DEFAULT_CHECK_TIMEOUT = 60
#: The seed of the randomized checks and the training runs unless ``--grader-seed`` says otherwise.
DEFAULT_SEED = 1234


class InvalidCheck(ValueError):
    """A check whose points marker is missing or malformed."""


@dataclass(frozen=True)
class CheckSpec:
    """One check: its id, exercise, title (its docstring's first line), points, whether it
    is an accuracy bar, and its time limit in seconds."""

    nodeid: str
    exercise: str
    title: str
    points: float
    bar: bool
    time_limit: float

    def listing(self) -> dict:
        """``{"exercise", "title", "points", "nodeid"}``: what ``--list-checks`` writes."""
        record = asdict(self)
        return {key: record[key] for key in ("exercise", "title", "points", "nodeid")}


def is_check(item: pytest.Item) -> bool:
    """A grader check: a test defined in grader/ (not one of the project's own tests)."""
    return Path(str(item.fspath)).resolve().parent == CHECKS_DIR


def spec_of(item: pytest.Item) -> CheckSpec:
    """The spec of check ``item``, or ``InvalidCheck`` naming what is wrong."""
    markers = list(item.iter_markers("points"))
    if len(markers) != 1 or len(markers[0].args) != 1 or set(markers[0].kwargs) - {"exercise"}:
        raise InvalidCheck(f"{item.nodeid}: needs exactly one @pytest.mark.points(n[, exercise=...])")
    points = markers[0].args[0]
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
        raise InvalidCheck(f"{item.nodeid}: points must be a positive number, got {points!r}")
    exercise = markers[0].kwargs.get("exercise", Path(str(item.fspath)).stem.removeprefix("test_"))
    if exercise not in EXERCISE_MODULES:
        raise InvalidCheck(f"{item.nodeid}: {exercise!r} is not an exercise module")
    timeout = item.get_closest_marker("timeout")
    doc = getattr(getattr(item, "function", None), "__doc__", None) or item.name
    return CheckSpec(nodeid=item.nodeid, exercise=exercise, title=doc.strip().splitlines()[0],
                     points=float(points), bar=Path(str(item.fspath)).name == BARS_MODULE,
                     time_limit=float(timeout.args[0]) if timeout and timeout.args else DEFAULT_CHECK_TIMEOUT)


__all__ = ["CheckSpec", "InvalidCheck", "is_check", "spec_of", "BARS_MODULE", "DEFAULT_CHECK_TIMEOUT",
           "CHECKS_DIR"]
