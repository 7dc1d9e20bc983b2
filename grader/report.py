"""Scores: per-check records -> the score table and Gradescope's ``results.json``.

Pure functions of a list of ``CheckResult``; the pytest plugin fills the list, the bulk
grader and the notebook track read the JSON back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from grader.paths import EXERCISE_MODULES

#: How a stub's failure message ends (``grader.checking.expectations.NotImplementedYet``).
NOT_IMPLEMENTED = ": not implemented yet"
#: The tag of the accuracy bars in ``results.json``, and their group in the failure report.
BAR_TAG = "accuracy bars"
#: Lines of one failure's message the report shows (``results.json`` keeps them all).
REPORT_MESSAGE_LINES = 14


#: A check's outcome in ``results.json`` (Gradescope's ``status``).
CheckStatus = Literal["passed", "failed"]


@dataclass
class CheckResult:
    """One grader check's outcome."""

    exercise: str
    name: str
    max_score: float
    score: float = 0.0
    status: CheckStatus = "failed"
    output: str = ""
    execution_time: float = 0.0
    bar: bool = False  # an accuracy bar (listed after the exercises)
    visibility: str = "visible"  # Gradescope's; anything else is a check the instructor runs

    @property
    def withheld(self) -> bool:
        """A check whose title and message a student is not shown (``grader.check_spec``)."""
        return self.visibility != "visible"

    @property
    def not_implemented(self) -> bool:
        """Failed only because the code it calls is still a stub (``NotImplementedYet``)."""
        return self.status != "passed" and self.output.endswith(NOT_IMPLEMENTED)


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


def failure_report(board: Scoreboard) -> list[str]:
    """Every failed check once, grouped by exercise in course order, the accuracy bars last.

    Per group: the stubs still to write on one line; then each other failure with its
    points, title and message (the call, what was expected, what came back, the hint).
    A failure whose hint was already given in its group (one mistake breaking several
    checks, e.g. every gradient None) names the check that explains it instead.
    """
    order = {name: index for index, name in enumerate(EXERCISE_MODULES)}
    groups: dict[str, list[CheckResult]] = {}
    for check in sorted(board.checks, key=lambda check: (check.bar, order.get(check.exercise, 99))):
        if check.status != "passed":
            groups.setdefault(BAR_TAG if check.bar else check.exercise, []).append(check)
    lines: list[str] = []
    for group, failed in groups.items():
        lost = sum(check.max_score - check.score for check in failed)
        lines.append(f"{group}: {len(failed)} failed, {_num(lost)} points lost")
        stubs = [check for check in failed if check.not_implemented]
        if stubs:
            names = dict.fromkeys(check.output.removesuffix(NOT_IMPLEMENTED) for check in stubs)
            count = f"{len(stubs)} check" + ("s" if len(stubs) > 1 else "")
            lines.append(f"  not implemented yet: {', '.join(names)} "
                         f"({count}, {_num(sum(check.max_score for check in stubs))} points)")
        explained: dict[str, str] = {}
        for check in failed:
            if check.not_implemented:
                continue
            lines.append(f"  [{_num(check.score)}/{_num(check.max_score)}] {check.name}")
            cause = _hint_of(check.output)
            if cause and cause in explained:
                lines.append(f'      the same cause as "{explained[cause]}" above')
                continue
            if cause:
                explained[cause] = check.name
            message = (check.output or "failed").splitlines()
            if len(message) > REPORT_MESSAGE_LINES:
                cut = len(message) - REPORT_MESSAGE_LINES + 1
                message = message[:REPORT_MESSAGE_LINES - 1] + [f"... ({cut} more lines in results.json)"]
            lines.extend(f"      {line}" for line in message)
    return lines


def _hint_of(output: str) -> str | None:
    """The message's ``hint:`` line: the cause it names."""
    hints = [line.strip() for line in output.splitlines() if line.strip().startswith("hint:")]
    return hints[-1] if hints else None


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
                "tags": [check.exercise, BAR_TAG] if check.bar else [check.exercise],
                "visibility": check.visibility,
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
                bar=BAR_TAG in (test.get("tags") or [])[1:],
                visibility=str(test.get("visibility", "visible")),
            )
        )
    return Scoreboard(checks)


__all__ = [
    "CheckResult",
    "Scoreboard",
    "score_table",
    "failure_report",
    "gradescope_results",
    "board_from_results",
]
