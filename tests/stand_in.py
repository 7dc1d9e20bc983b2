"""A stand-in for the grading process, for tests of what ``grade_class`` does around it.

``fake_grading(monkeypatch, bonus)``: a student scores the number written in their
``activations.py`` (``points = 40``) plus ``bonus[entry name]`` (a "grader fix"), out of
100, in this process; ``crash`` in the file makes the status ``crashed``. No warm grader
server is started. The staging, screening, publishing, gradebook, summary, change list
and similarity report around it are the real ones.
"""

from __future__ import annotations

from pathlib import Path

from grader.bulk.record import GradingRecord
from grader.report import CheckResult, Scoreboard, gradescope_results


class _NoServer:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def fake_grading(monkeypatch, bonus: dict[str, float]) -> None:
    import grader.bulk.class_run as class_run
    import grader.bulk.student as student

    def grade(work: Path, settings, launcher, record: GradingRecord, stop=None) -> dict:
        text = (work / "submission" / "activations.py").read_text()
        points = float(text.split("=")[1].split()[0]) + bonus.get(record.entry, 0.0)
        record.status = "crashed" if "crash" in text else "graded"
        return gradescope_results(Scoreboard([CheckResult("activations", "relu", 100.0, points,
                                                          "passed" if points else "failed")]), 0.0)

    monkeypatch.setattr(student, "_grade_staged", grade)
    monkeypatch.setattr(class_run, "WarmGrader", _NoServer)
