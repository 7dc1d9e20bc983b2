"""Scores: per-check records -> the score table and Gradescope's ``results.json``.

Pure functions of a list of ``CheckResult``; the pytest plugin fills the list, the bulk
grader and the notebook track read the JSON back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from grader.paths import EXERCISE_MODULES


@dataclass
class CheckResult:
    """One grader check's outcome."""

    exercise: str
    name: str
    max_score: float
    score: float = 0.0
    status: str = "failed"  # "passed" | "failed"
    output: str = ""
    execution_time: float = 0.0


@dataclass
class Scoreboard:
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(check.score for check in self.checks)

    @property
    def max_total(self) -> float:
        return sum(check.max_score for check in self.checks)

    def by_exercise(self) -> dict[str, tuple[float, float]]:
        """exercise -> (score, max score), in lesson order."""
        totals: dict[str, list[float]] = {}
        for check in self.checks:
            entry = totals.setdefault(check.exercise, [0.0, 0.0])
            entry[0] += check.score
            entry[1] += check.max_score
        order = {name: index for index, name in enumerate(EXERCISE_MODULES)}
        return {
            name: (score, maximum)
            for name, (score, maximum) in sorted(totals.items(), key=lambda kv: order.get(kv[0], 99))
        }


def score_table(board: Scoreboard) -> str:
    """The table printed at the end of every grader run."""
    rows = [("exercise", "points", "checks passed")]
    counts: dict[str, list[int]] = {}
    for check in board.checks:
        entry = counts.setdefault(check.exercise, [0, 0])
        entry[0] += check.status == "passed"
        entry[1] += 1
    for name, (score, maximum) in board.by_exercise().items():
        passed, total = counts[name]
        rows.append((name, f"{_num(score)} / {_num(maximum)}", f"{passed} / {total}"))
    rows.append(("TOTAL", f"{_num(board.total)} / {_num(board.max_total)}", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    rule = "-+-".join("-" * width for width in widths)
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return "\n".join([lines[0], rule, *lines[1:-1], rule, lines[-1]])


def _num(value: float) -> str:
    return f"{value:g}"


def gradescope_results(board: Scoreboard, execution_time: float, extra: dict | None = None) -> dict:
    """Gradescope's autograder ``results.json`` schema (plus per-exercise totals)."""
    tests = []
    for number, check in enumerate(board.checks, start=1):
        tests.append(
            {
                "name": f"{check.exercise}: {check.name}",
                "number": str(number),
                "score": check.score,
                "max_score": check.max_score,
                "status": check.status,
                "output": check.output,
                "tags": [check.exercise],
                "visibility": "visible",
                "execution_time": round(check.execution_time, 3),
            }
        )
    exercises = {name: {"score": s, "max_score": m} for name, (s, m) in board.by_exercise().items()}
    return {
        "score": board.total,
        "max_score": board.max_total,
        "execution_time": round(execution_time, 3),
        "output": score_table(board),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"exercises": exercises, **(extra or {})},
    }


def board_from_results(data: dict) -> Scoreboard:
    """Read a ``results.json`` written by ``gradescope_results`` back into a board."""
    checks = []
    for test in data.get("tests", []):
        exercise = (test.get("tags") or ["?"])[0]
        name = test["name"].split(": ", 1)[-1]
        checks.append(
            CheckResult(
                exercise=exercise,
                name=name,
                max_score=float(test["max_score"]),
                score=float(test["score"]),
                status=test.get("status", "failed"),
                output=test.get("output", ""),
                execution_time=float(test.get("execution_time", 0.0)),
            )
        )
    return Scoreboard(checks)


__all__ = [
    "CheckResult",
    "Scoreboard",
    "score_table",
    "gradescope_results",
    "board_from_results",
]
