"""``CheckSpec``: what a grader check is worth, parsed once at collection from its marker.

A check is a test function in a ``grader/test_<exercise>.py`` file with exactly one
``@pytest.mark.points(n[, exercise=...][, visibility=...])``. Its spec is everything the
plugin, the score table, ``results.json``, the notebook and the otter build need to know
about it:

    CheckSpec(nodeid="grader/test_activations.py::test_relu_values", exercise="activations",
              title="relu matches max(x, 0) elementwise", points=2.0, bar=False, time_limit=60,
              visibility="visible")

``visibility`` is Gradescope's: ``"visible"`` (the default), ``"hidden"``,
``"after_due_date"`` or ``"after_published"``. Every other value is *withheld*: such a
check is defined only in a ``grader/test_<exercise>_hidden.py`` file, and such a file holds
only withheld checks, so a student release (``grader.authoring.release``) leaves them out
by file name. The release carries ``grader/withheld_checks.json`` instead (counts and
points per exercise, ``withheld_manifest``), from which a run without those files says how
many more checks the instructor runs (``more_checks_line``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, get_args

import pytest

from grader.paths import EXERCISE_MODULES

#: The folder of the checks: a test is a check only if it is defined here.
CHECKS_DIR = Path(__file__).resolve().parent
#: The module of the accuracy-bar checks (reported after the exercises).
BARS_MODULE = "test_accuracy_bars.py"
#: Seconds a check may run unless its ``@pytest.mark.timeout(s)`` says otherwise.
DEFAULT_CHECK_TIMEOUT = 60
#: Gradescope's visibilities of a test; every one but "visible" is withheld from a student release.
Visibility = Literal["visible", "hidden", "after_due_date", "after_published"]
VISIBILITIES: tuple[str, ...] = get_args(Visibility)
#: How the name of a file of withheld checks ends: ``test_<exercise>_hidden.py``.
HIDDEN_SUFFIX = "_hidden"
#: What a student release carries instead of the withheld checks.
WITHHELD_MANIFEST = CHECKS_DIR / "withheld_checks.json"
#: The seed of the randomized checks and the training runs unless ``--grader-seed`` says otherwise.
DEFAULT_SEED = 1234


class InvalidCheck(ValueError):
    """A check whose points marker is missing or malformed."""


@dataclass(frozen=True)
class CheckSpec:
    """One check: its id, exercise, title (its docstring's first line), points, whether it
    is an accuracy bar, its time limit in seconds and its visibility."""

    nodeid: str
    exercise: str
    title: str
    points: float
    bar: bool
    time_limit: float
    visibility: Visibility = "visible"

    @property
    def withheld(self) -> bool:
        """Not shown to a student (and not in a student release)."""
        return self.visibility != "visible"

    def listing(self) -> dict:
        """``{"exercise", "title", "points", "nodeid", "visibility"}``: what ``--list-checks`` writes."""
        record = asdict(self)
        return {key: record[key] for key in ("exercise", "title", "points", "nodeid", "visibility")}


def is_check(item: pytest.Item) -> bool:
    """A grader check: a test defined in grader/ (not one of the project's own tests)."""
    return Path(str(item.fspath)).resolve().parent == CHECKS_DIR


def spec_of(item: pytest.Item) -> CheckSpec:
    """The spec of check ``item``, or ``InvalidCheck`` naming what is wrong."""
    markers = list(item.iter_markers("points"))
    if len(markers) != 1 or len(markers[0].args) != 1 or set(markers[0].kwargs) - {"exercise", "visibility"}:
        raise InvalidCheck(f"{item.nodeid}: needs exactly one @pytest.mark.points(n[, exercise=...][, visibility=...])")
    points = markers[0].args[0]
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
        raise InvalidCheck(f"{item.nodeid}: points must be a positive number, got {points!r}")
    path = Path(str(item.fspath))
    exercise = markers[0].kwargs.get("exercise", path.stem.removeprefix("test_").removesuffix(HIDDEN_SUFFIX))
    if exercise not in EXERCISE_MODULES:
        raise InvalidCheck(f"{item.nodeid}: {exercise!r} is not an exercise module")
    visibility = markers[0].kwargs.get("visibility", "visible")
    if visibility not in VISIBILITIES:
        raise InvalidCheck(f"{item.nodeid}: visibility must be one of {', '.join(VISIBILITIES)}, got {visibility!r}")
    if (visibility != "visible") != is_hidden_file(path):
        raise InvalidCheck(
            f"{item.nodeid}: a check with visibility {visibility!r} belongs in a file "
            + ("named test_<exercise>_hidden.py (a student release leaves those out)" if visibility != "visible"
               else "that is not a *_hidden.py file: those hold only withheld checks"))
    timeout = item.get_closest_marker("timeout")
    doc = getattr(getattr(item, "function", None), "__doc__", None) or item.name
    return CheckSpec(nodeid=item.nodeid, exercise=exercise, title=doc.strip().splitlines()[0],
                     points=float(points), bar=path.name == BARS_MODULE, visibility=visibility,
                     time_limit=float(timeout.args[0]) if timeout and timeout.args else DEFAULT_CHECK_TIMEOUT)


def is_hidden_file(path: Path) -> bool:
    """``test_<exercise>_hidden.py``: a file of withheld checks."""
    return path.name.startswith("test_") and path.stem.endswith(HIDDEN_SUFFIX) and path.suffix == ".py"


def hidden_files(folder: Path = CHECKS_DIR) -> list[Path]:
    """The files of withheld checks in ``folder`` (none in a student release)."""
    return sorted(path for path in Path(folder).glob(f"test_*{HIDDEN_SUFFIX}.py") if is_hidden_file(path))


def withheld_manifest(checks: list[dict]) -> dict:
    """``{"exercises": {exercise: {"checks", "points"}}}`` of the withheld ones among
    ``checks`` (``CheckSpec.listing`` dicts): counts only, no name or title."""
    exercises: dict[str, dict] = {}
    for check in checks:
        if check.get("visibility", "visible") != "visible":
            entry = exercises.setdefault(check["exercise"], {"checks": 0, "points": 0.0})
            entry["checks"] += 1
            entry["points"] += float(check["points"])
    return {"about": "checks your instructor runs that this copy of the grader does not carry",
            "exercises": exercises}


def more_checks_line(exercises: set[str] | list[str], folder: Path = CHECKS_DIR) -> str | None:
    """"N more checks (M points) are run by your instructor" for the withheld checks of
    ``exercises`` that ``folder`` does not carry (per its manifest), or None."""
    manifest = folder / WITHHELD_MANIFEST.name
    if hidden_files(folder) or not manifest.is_file():
        return None
    try:
        entries = json.loads(manifest.read_text())["exercises"]
        count = sum(int(entries[name]["checks"]) for name in exercises if name in entries)
        points = sum(float(entries[name]["points"]) for name in exercises if name in entries)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not count:
        return None
    return (f"{count} more check{'s' if count > 1 else ''} ({points:g} point{'s' if points != 1 else ''}) "
            f"{'are' if count > 1 else 'is'} run by your instructor")


__all__ = ["CheckSpec", "InvalidCheck", "is_check", "spec_of", "BARS_MODULE", "DEFAULT_CHECK_TIMEOUT",
           "CHECKS_DIR", "Visibility", "VISIBILITIES", "HIDDEN_SUFFIX", "WITHHELD_MANIFEST", "is_hidden_file",
           "hidden_files", "withheld_manifest", "more_checks_line"]
