"""The one way to start a grading run: ``python -m pytest grader/ --target FOLDER ...``.

Every tool that grades does it through here: the bulk grader (``grader.bulk.student``),
the notebook's ``check()`` (``grader.notebook.check``), the otter plugin
(``grader.notebook.otter_plugin``), the project's tests and the benchmarks. So the
command line (``grader_args``), the environment (``grading_environment``) and how a run
ends (``GradingRun``) are decided once:

- ``start(args, ...)`` starts a run, in a fresh ``python -m pytest`` process or forked from
  a ``WarmGrader`` (``grader.warm_grader``: TensorFlow and the checks imported once), and
  returns a handle with ``wait``, ``send_signal``, ``kill`` and ``returncode``;
- ``grade(args, results, ...)`` starts a run, waits for it (killing it past ``timeout``)
  and returns its ``GradingRun``: exit code, output, and the ``results.json`` it wrote.

A run is a grading process: it decides the score, and with ``--isolate`` it runs no
student code itself (see ``grader.isolation``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Protocol

from grader.errors import GraderCrashed
from grader.paths import REPO_ROOT
from grader.tf_runtime import quiet_environment

if TYPE_CHECKING:
    from grader.report import Scoreboard
    from grader.warm_grader import WarmGrader

#: The checks' folder (``pytest grader/``).
GRADER_DIR = Path(__file__).resolve().parent
#: ``COURSE_TRAIN_CACHE=DIR``: runs that set no ``--train-cache`` reuse accuracy-bar runs from DIR.
TRAIN_CACHE_ENV = "COURSE_TRAIN_CACHE"


def grader_args(target: str | Path, results: str | Path, *options: str, grader_dir: Path = GRADER_DIR,
                quiet: bool = True) -> list[str]:
    """pytest's arguments to grade ``target`` and write ``results``, then ``options``
    (``-q`` first when ``quiet``: the tools show the grader's report, not pytest's dots)."""
    args = [str(grader_dir), "--target", str(target), "--results", str(results), *(["-q"] if quiet else []),
            "-p", "no:cacheprovider", *options]
    if os.environ.get(TRAIN_CACHE_ENV) and "--train-cache" not in options:
        args += ["--train-cache", os.environ[TRAIN_CACHE_ENV]]
    return args


def grading_environment(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """The environment of a grading run: ``base`` (default ``os.environ``), TensorFlow's
    logs off, no ``.pyc`` files written next to a submission, then ``extra``."""
    return quiet_environment(base, PYTHONDONTWRITEBYTECODE="1", **extra)


class RunHandle(Protocol):
    """A started run (``subprocess.Popen`` or ``grader.warm_grader.ForkedRun``)."""

    returncode: int | None

    def wait(self, timeout: float | None = None) -> int: ...
    def send_signal(self, signal_number: int) -> None: ...
    def kill(self) -> None: ...


def start(args: list[str], *, output: Path, warm: "WarmGrader | None" = None, cwd: Path = REPO_ROOT,
          env: Mapping[str, str] | None = None) -> RunHandle:
    """Start ``pytest args`` with stdout and stderr to ``output``; fresh unless ``warm``."""
    env = dict(env if env is not None else grading_environment())
    if warm is not None:
        return warm.start(args, cwd, env, output)
    with open(output, "wb") as stream:
        return subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL, stdout=stream, stderr=subprocess.STDOUT)


@dataclass
class GradingRun:
    """One finished run of ``pytest grader/``: its exit code, what it printed, its results.json."""

    returncode: int
    output: str
    results: dict

    @property
    def board(self) -> "Scoreboard":
        from grader.report import board_from_results

        return board_from_results(self.results)

    def exercise_scores(self) -> dict[str, float]:
        """Exercise -> points scored."""
        return {name: entry["score"] for name, entry in self.results["extra_data"]["exercises"].items()}

    def failed_checks(self) -> list[dict]:
        """The results.json entries of the checks that did not pass."""
        return [test for test in self.results["tests"] if test["status"] != "passed"]


def grade(args: list[str], results: Path, *, warm: "WarmGrader | None" = None, cwd: Path = REPO_ROOT,
          env: Mapping[str, str] | None = None, timeout: float | None = None) -> GradingRun:
    """Run ``pytest args`` (which write ``results``) to its end; ``subprocess.TimeoutExpired``
    after killing it past ``timeout``; ``GraderCrashed`` if it wrote no results."""
    with tempfile.NamedTemporaryFile(prefix="course-output-", suffix=".txt") as printed:
        run = start(args, output=Path(printed.name), warm=warm, cwd=cwd, env=env)
        try:
            returncode = run.wait(timeout)
        except subprocess.TimeoutExpired:
            run.kill()
            run.wait()
            raise
        output = Path(printed.name).read_text(errors="replace")
    if not results.is_file():
        raise GraderCrashed(f"the grader stopped without results (exit {returncode}):\n{output[-3000:]}")
    return GradingRun(returncode, output, json.loads(results.read_text()))


def list_checks(grader_dir: Path = GRADER_DIR) -> list[dict]:
    """Every grader check (``grader.check_spec.CheckSpec.listing``), in run order."""
    with tempfile.TemporaryDirectory(prefix="course-checks-") as scratch:
        listing = Path(scratch) / "checks.json"
        args = [str(grader_dir), "--collect-only", "-q", "-p", "no:cacheprovider", "--list-checks", str(listing)]
        output = Path(scratch) / "output.txt"
        start(args, output=output, cwd=grader_dir.parent).wait()
        if not listing.is_file():
            raise GraderCrashed(f"could not list the grader's checks:\n{output.read_text(errors='replace')[-3000:]}")
        return json.loads(listing.read_text())


__all__ = ["GRADER_DIR", "TRAIN_CACHE_ENV", "grader_args", "grading_environment", "start", "grade",
           "GradingRun", "list_checks"]
