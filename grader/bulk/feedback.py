"""``feedback.md``: one student's result in plain language.

The score per exercise, what the static screen flagged (if anything), then every
failed check with the grader's message (what was called, what was expected, what came
back, a hint), grouped by exercise. A check whose ``visibility`` is not ``"visible"``
(a withheld check, ``grader.check_spec``) shows neither its title nor its message, only
"a check your instructor runs" with its points, which count in the totals; the status
wording is the feedback page's (``grader.feedback_page.page``), so both say the same.
"""

from __future__ import annotations

from grader.bulk.record import GradingRecord
from grader.bulk.screen import Flag
from grader.feedback_page.page import HIDDEN_CHECK, STATUS_TEXT
from grader.report import board_from_results


def feedback_text(record: GradingRecord, results: dict) -> str:
    """The Markdown feedback for ``record`` (``grading.json``) and its ``results.json``."""
    board = board_from_results(results)
    lines = [f"# Feedback for {record.id}", ""]
    lines.append(f"**Score: {board.total:g} / {board.max_total:g}**, {STATUS_TEXT[record.status]}.")
    if record.reason:
        lines += ["", f"Why: {record.reason}"]
    for note in record.notes:
        lines += ["", f"Note: {note}"]
    if board.checks:
        lines += ["", "| exercise | points |", "| --- | --- |"]
        lines += [f"| {name} | {score:g} / {maximum:g} |" for name, (score, maximum) in board.by_exercise().items()]
    if record.flags:
        lines += ["", "## Flagged for review", "",
                  "Your code was graded as usual, but the grader's screen found code that reaches for "
                  "the grader's internals (or a file no exercise needs), so an instructor will read it:", ""]
        lines += [f"- {Flag.from_json(flag).text()}" for flag in record.flags]
    failed = [check for check in board.checks if check.status != "passed"]
    if failed:
        lines += ["", "## What to fix"]
    for exercise in dict.fromkeys(check.exercise for check in failed):
        lines += ["", f"### {exercise}"]
        for check in (c for c in failed if c.exercise == exercise):
            if check.withheld:
                lines += ["", f"- {HIDDEN_CHECK} (0 / {check.max_score:g} points)"]
                continue
            lines += ["", f"- {check.name} (0 / {check.max_score:g} points)", ""]
            lines += [f"      {line}" for line in (check.output.strip() or "failed").splitlines()]
    if board.checks and not failed:
        lines += ["", "Every check passed."]
    return "\n".join(lines) + "\n"
