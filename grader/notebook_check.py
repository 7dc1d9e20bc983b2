"""Checks from inside the course notebook, and the otter autograder's test cases.

No check lives here. Both entry points report the real grader's run, ``pytest grader/
--target FOLDER`` in a fresh Python process, on the notebook's exercise code written to
a folder of modules (``grader.notebook_extract``). So the messages and points are those
of ``pytest grader/``, check for check.

- ``check("convolution")`` in a notebook cell grades the cells of ``convolution.py``
  that ran in this kernel (the last run of each) and prints every check with its
  points and message, then the grader's score table. ``check()`` grades everything.
- ``otter_case(env, exercise, title)`` is what each case of the otter test files calls
  (``grader.otter_build`` writes them): it passes or fails like the grader check
  ``title`` did in the isolated run that the autograder's otter plugin
  (``grader.otter_plugin``) made of the submission before otter ran anything. It grades
  nothing itself and no code of the submission ever runs where it is called.

This module is also a small pytest plugin (``-p grader.notebook_check``) that adds
``--exercise NAME`` (grade one exercise; repeatable) and ``--list-checks FILE`` (write
every check's exercise, title and points as JSON) to the grader.

Environment variables: ``COURSE_QUICK=1`` makes ``quick_mode()`` true (the notebook then
trains on a small slice, for CI); ``COURSE_TRAIN_CACHE=DIR`` is passed on to the grader
as ``--train-cache DIR`` (reuse accuracy-bar runs across notebooks and otter runs).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.notebook_extract import MARKER, missing_parts, modules_from_cells, write_modules
from grader.paths import EXERCISE_MODULES
from grader.report import Scoreboard, board_from_results, failure_report, score_table
from grader.tf_runtime import quiet_environment

GRADER_DIR = Path(__file__).resolve().parent
QUICK_ENV = "COURSE_QUICK"
TRAIN_CACHE_ENV = "COURSE_TRAIN_CACHE"
#: The exercises whose check trains an accuracy bar (about a minute each, uncached).
BAR_EXERCISES = ("model", "training", "keras_model")


class GraderCrashed(RuntimeError):
    """The grader process ended without writing results.json."""


# --- running the grader --------------------------------------------------------------

@dataclass
class GraderRun:
    """One run of ``pytest grader/``: its results.json and what it printed."""

    results: dict
    output: str
    returncode: int

    @property
    def board(self) -> Scoreboard:
        return board_from_results(self.results)


def grader_command(folder: Path, results: Path, exercises: list[str] | None = None) -> list[str]:
    """``python -m pytest grader/ --target FOLDER ...`` for one folder of modules."""
    command = [sys.executable, "-m", "pytest", str(GRADER_DIR), "--target", str(folder),
               "--results", str(results), "-q", "-p", "no:cacheprovider", "-p", "grader.notebook_check"]
    for exercise in exercises or ():
        command += ["--exercise", exercise]
    if os.environ.get(TRAIN_CACHE_ENV):
        command += ["--train-cache", os.environ[TRAIN_CACHE_ENV]]
    return command


def run_grader(folder: str | Path, exercises: list[str] | None = None,
               timeout: float | None = None) -> GraderRun:
    """Grade ``folder`` (all exercises, or only ``exercises``) in a fresh process."""
    unknown = sorted(set(exercises or ()) - set(EXERCISE_MODULES))
    if unknown:
        raise ValueError(f"unknown exercise(s) {unknown}; choose from {', '.join(EXERCISE_MODULES)}")
    with tempfile.TemporaryDirectory(prefix="course-results-") as scratch:
        results = Path(scratch) / "results.json"
        env = quiet_environment(PYTHONDONTWRITEBYTECODE="1")
        done = subprocess.run(grader_command(Path(folder).resolve(), results, exercises),
                              cwd=GRADER_DIR.parent, env=env, capture_output=True, text=True,
                              timeout=timeout)
        output = done.stdout + done.stderr
        if not results.is_file():
            raise GraderCrashed(f"the grader stopped without results (exit {done.returncode}):\n"
                                + output[-3000:])
        return GraderRun(json.loads(results.read_text()), output, done.returncode)


def grade_modules(modules: dict[str, str], exercises: list[str] | None = None) -> GraderRun:
    """Write ``modules`` (name -> source) to a temporary folder and grade it."""
    with tempfile.TemporaryDirectory(prefix="course-modules-") as folder:
        write_modules(modules, folder)
        return run_grader(folder, exercises)


# --- printing like pytest grader/ ----------------------------------------------------

def format_report(board: Scoreboard, whole: bool = True) -> str:
    """The failed checks (``report.failure_report``), then one line counting the passes;
    for the whole course (``whole``) the grader's score table too."""
    passed = sum(check.status == "passed" for check in board.checks)
    exercises = list(board.by_exercise())
    label = exercises[0] if len(exercises) == 1 and not whole else "all exercises"
    lines = failure_report(board)
    lines += ["" if lines else None, f"{label}: {board.total:g} / {board.max_total:g} points, "
              f"{passed} of {len(board.checks)} checks passed"]
    if whole:
        lines += ["", score_table(board)]
    return "\n".join(line for line in lines if line is not None)


# --- inside a notebook ---------------------------------------------------------------

def grading_under_otter() -> bool:
    """True while otter-grader executes this notebook (its grading mode is on)."""
    otter = sys.modules.get("otter")
    return bool(getattr(getattr(otter, "Notebook", None), "_grading_mode", False))


def quick_mode() -> bool:
    """Train on a small slice: ``COURSE_QUICK=1`` (tests, CI) or under the autograder."""
    return os.environ.get(QUICK_ENV, "").lower() in ("1", "true", "yes") or grading_under_otter()


def _kernel_history() -> list[str]:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        get_ipython = lambda: None  # noqa: E731
    shell = get_ipython()
    if shell is None or "In" not in shell.user_ns:
        raise RuntimeError("check() grades the cells run in a Jupyter notebook; in a terminal, "
                           "run `pytest grader/` on your exercise files instead")
    return [str(source) for source in shell.user_ns["In"]]


def check(exercise: str | None = None) -> None:
    """Grade an exercise's cells as run in this notebook, and print the result.

    Args:
        exercise: ``"activations"``, ``"convolution"``, ... (a module of the lesson);
            ``None`` grades every exercise and prints the total.

    The code graded is that of the exercise cells (first line ``# [module.py i/n]``)
    as last run in this kernel: edit a cell, run it, then check again.
    """
    if exercise is not None and exercise not in EXERCISE_MODULES:
        raise ValueError(f"unknown exercise {exercise!r}; choose from {', '.join(EXERCISE_MODULES)}")
    if grading_under_otter():
        print(f"check({exercise or ''}): skipped while the autograder runs (it grades every exercise at the end)")
        return
    history = _kernel_history()
    modules = modules_from_cells(history)
    wanted = [exercise] if exercise else list(EXERCISE_MODULES)
    never_run = [name for name in wanted if name not in modules]
    if never_run:
        print("Not run yet in this notebook: " + ", ".join(f"{name}.py" for name in never_run)
              + ". Run their exercise cells (first line '# [<module>.py i/n]'), then check again.\n")
        if exercise:
            return
    for name, parts in missing_parts(history).items():
        if name in wanted:
            print(f"Note: {name}.py part(s) {', '.join(map(str, parts))} have not been run in this kernel; "
                  "the module is graded without them.\n")
    training = [name for name in wanted if name in BAR_EXERCISES and name in modules]
    if training:
        print(f"Training your {', '.join(training)} code for the accuracy bar{'s' if len(training) > 1 else ''}: "
              "about a minute per bar (seconds when the code has not changed)...", flush=True)
    try:
        run = grade_modules(modules, [exercise] if exercise else None)
    except GraderCrashed as error:
        print(error)
        return
    print(format_report(run.board, whole=exercise is None))


# --- the otter autograder ------------------------------------------------------------

#: Set by the otter plugin (``grader.otter_plugin``) to the file of its verdict, for the kernel.
VERDICT_ENV = "COURSE_OTTER_VERDICT"
#: The one cell otter executes in place of the submission (``grader.otter_plugin``).
PLACEHOLDER_CELL = ("# grader.otter_plugin: the submission's cells were removed; no code of the "
                    "submission runs in this kernel")
#: The verdict the otter plugin hands over in otter's own process (``use_verdict``).
_TRUSTED_VERDICT: dict | None = None


def use_verdict(verdict: dict | None) -> None:
    """Make ``otter_case`` report ``verdict`` (the plugin, in otter's process); ``None`` ends it."""
    global _TRUSTED_VERDICT
    _TRUSTED_VERDICT = verdict


def _cell_pattern(template: str) -> re.Pattern:
    """A template of otter's (``{name}`` fields are one-line values) as a regular expression."""
    return re.compile(r"[^\n]*".join(re.escape(piece) for piece in re.split(r"\{\w+\}", template.strip())))


def foreign_cells(env: dict) -> list[str]:
    """Cells the kernel ran that are neither otter's own nor the plugin's placeholder.

    In otter's kernel ``env`` is the notebook's global namespace, whose ``In`` is the
    kernel's input history: with the plugin it holds otter's set-up cells, the
    placeholder and otter's cell that runs the test files, nothing else.
    """
    from otter.execute.preprocessor import EXPORT_CELL_SOURCE, INIT_CELL_SOURCE

    history = env.get("In") if isinstance(env, dict) else None
    if not isinstance(history, list):
        return ["(no input history: not otter's kernel)"]
    allowed = [_cell_pattern(INIT_CELL_SOURCE), _cell_pattern(EXPORT_CELL_SOURCE),
               _cell_pattern('import sys\nsys.path.append(r"{cwd}")'), re.compile(re.escape(PLACEHOLDER_CELL))]
    cells = [str(cell).strip() for cell in history]
    foreign = [cell for cell in cells if cell and not any(pattern.fullmatch(cell) for pattern in allowed)]
    if PLACEHOLDER_CELL not in cells:
        foreign.append("(the placeholder cell of grader.otter_plugin did not run)")
    return foreign


def _kernel_verdict(env: dict) -> dict:
    foreign = foreign_cells(env)
    if foreign:
        raise AssertionError("the submission's own code ran in the grading kernel, so no case can pass "
                             f"(is grader.otter_plugin in otter_config.json?): {foreign[0][:200]!r}")
    path = os.environ.get(VERDICT_ENV)
    if not path:
        raise AssertionError("no verdict of the grader: grader.otter_plugin did not run")
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise AssertionError(f"the grader's verdict cannot be read: {error}") from None


def otter_case(env: dict, exercise: str, title: str) -> None:
    """Pass if grader check ``title`` of ``exercise`` passed on the submission.

    What the cases of the otter test files call. The outcome is the verdict of the
    grader's isolated run that ``grader.otter_plugin`` made before otter started its
    kernel: in otter's own process the one handed over with ``use_verdict``; in the
    kernel the one in ``$COURSE_OTTER_VERDICT``, and only if the kernel ran no cell but
    otter's and the plugin's (``foreign_cells``). Raises only ``AssertionError`` (otter
    scores that case 0 and shows the message).
    """
    try:
        verdict = _TRUSTED_VERDICT if _TRUSTED_VERDICT is not None else _kernel_verdict(env)
        if verdict.get("error"):
            raise AssertionError(f"the grader could not grade this submission: {verdict['error']}")
        for test in verdict.get("tests", []):
            if test.get("name") == f"{exercise}: {title}":
                if test.get("status") == "passed":
                    return
                raise AssertionError(test.get("output") or "failed")
        tail = str(verdict.get("output", ""))[-2000:]
        raise AssertionError(f"the grader did not report the check {title!r}:\n{tail}")
    except AssertionError:
        raise
    except Exception as error:  # noqa: BLE001 - a malformed verdict fails the case, never otter
        raise AssertionError(f"the grader's verdict cannot be used: {error}") from None


# --- pytest plugin: -p grader.notebook_check -----------------------------------------

def pytest_addoption(parser) -> None:
    group = parser.getgroup("notebook", "MNIST course notebook track")
    group.addoption("--exercise", action="append", default=[],
                    help="grade only this exercise's checks (repeatable)")
    group.addoption("--list-checks", default=None,
                    help="write every check's exercise, title and points to this JSON file")


def _selected(item, exercises: list[str]) -> bool:
    from grader.plugin import _exercise_of, _is_check

    return not _is_check(item) or _exercise_of(item) in exercises


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items) -> None:
    exercises = config.getoption("--exercise", default=[])
    if not exercises:
        return
    unknown = sorted(set(exercises) - set(EXERCISE_MODULES))
    if unknown:
        raise pytest.UsageError(f"--exercise: unknown exercise(s) {unknown}")
    keep = [item for item in items if _selected(item, exercises)]
    dropped = [item for item in items if not _selected(item, exercises)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_collection_finish(session) -> None:
    target = session.config.getoption("--list-checks", default=None)
    if not target:
        return
    from grader.plugin import _check_title, _exercise_of, _is_check

    checks = [
        {"exercise": _exercise_of(item), "title": _check_title(item),
         "points": float(item.get_closest_marker("points").args[0]), "nodeid": item.nodeid}
        for item in session.items if _is_check(item)
    ]
    Path(target).write_text(json.dumps(checks, indent=1))


def list_checks() -> list[dict]:
    """Every grader check: ``{"exercise", "title", "points", "nodeid"}``, in run order."""
    with tempfile.TemporaryDirectory(prefix="course-checks-") as scratch:
        listing = Path(scratch) / "checks.json"
        command = [sys.executable, "-m", "pytest", str(GRADER_DIR), "--collect-only", "-q",
                   "-p", "no:cacheprovider", "-p", "grader.notebook_check", "--list-checks", str(listing)]
        done = subprocess.run(command, cwd=GRADER_DIR.parent, capture_output=True, text=True,
                              env=quiet_environment(PYTHONDONTWRITEBYTECODE="1"))
        if not listing.is_file():
            raise GraderCrashed(f"could not list the grader's checks:\n{(done.stdout + done.stderr)[-3000:]}")
        return json.loads(listing.read_text())


__all__ = ["check", "quick_mode", "grading_under_otter", "run_grader", "grade_modules", "format_report",
           "otter_case", "use_verdict", "foreign_cells", "list_checks", "GraderRun", "GraderCrashed", "MARKER",
           "VERDICT_ENV", "PLACEHOLDER_CELL"]
