"""``check()`` inside the course notebook: grade the kernel's exercise code with the real grader.

No check lives here. ``check("convolution")`` in a notebook cell writes the cells of
``convolution.py`` that ran in this kernel (the last run of each) to a folder of modules
(``grader.notebook.extract``), grades it with ``pytest grader/ --target FOLDER --exercise
convolution`` in a fresh process (``grader.launch``), and prints every failed check with
its message, then the points; ``check()`` grades everything and adds the score table. So
the messages and points are those of ``pytest grader/``, check for check.

Environment variables: ``COURSE_QUICK=1`` makes ``quick_mode()`` true (the notebook then
trains on a small slice, for CI); ``COURSE_TRAIN_CACHE=DIR`` (``grader.launch``) makes the
grader reuse accuracy-bar runs from DIR across notebooks and otter runs.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from grader.check_spec import more_checks_line
from grader.errors import GraderCrashed
from grader.launch import GradingRun, grade, grader_args
from grader.notebook.extract import missing_parts, modules_from_cells, write_modules
from grader.paths import EXERCISE_MODULES
from grader.report import Scoreboard, failure_report, score_table

QUICK_ENV = "COURSE_QUICK"
#: The exercises whose check trains an accuracy bar (about a minute each, uncached).
BAR_EXERCISES = ("model", "training", "keras_model")


# --- running the grader --------------------------------------------------------------

def grade_folder(folder: str | Path, exercises: list[str] | None = None,
               timeout: float | None = None) -> GradingRun:
    """Grade ``folder`` (all exercises, or only ``exercises``) in a fresh process."""
    unknown = sorted(set(exercises or ()) - set(EXERCISE_MODULES))
    if unknown:
        raise ValueError(f"unknown exercise(s) {unknown}; choose from {', '.join(EXERCISE_MODULES)}")
    with tempfile.TemporaryDirectory(prefix="course-results-") as scratch:
        results = Path(scratch) / "results.json"
        options = [option for exercise in exercises or () for option in ("--exercise", exercise)]
        return grade(grader_args(Path(folder).resolve(), results, *options), results, timeout=timeout)


def grade_modules(modules: dict[str, str], exercises: list[str] | None = None) -> GradingRun:
    """Write ``modules`` (name -> source) to a temporary folder and grade it."""
    with tempfile.TemporaryDirectory(prefix="course-modules-") as folder:
        write_modules(modules, folder)
        return grade_folder(folder, exercises)


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
    lines.append(more_checks_line(exercises))  # in a student release: the checks it leaves out
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
        graded = grade_modules(modules, [exercise] if exercise else None)
    except GraderCrashed as error:
        print(error)
        return
    print(format_report(graded.board, whole=exercise is None))


__all__ = ["check", "quick_mode", "grading_under_otter", "grade_folder", "grade_modules", "format_report",
           "BAR_EXERCISES", "QUICK_ENV"]
