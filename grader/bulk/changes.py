"""Which students a ``course grade --force`` run changed: ``changes.md`` and ``changes.json``.

After a grader fix an instructor re-grades the class with ``--force`` and needs to know
whose result moved. ``grader.bulk.class_run`` reads every ``grading.json`` it is about to
grade again (``before``) and, when the run ends (finished or interrupted), compares them
with the records then on disk (``changes_since``). A student is listed when the total or
the status differs: ``id, old total, new total, old status, new status``. Students graded
for the first time (no old record) are not changes; a student the run did not reach keeps
the old record and is not listed.

The files always describe the latest run: every ``course grade`` run removes the previous
run's files first (``clear``), and only a ``--force`` run that changed somebody writes them
again. So a run without ``--force`` (new or resubmitted entries graded, the others
skipped) leaves none, and neither does a ``--force`` run that changed nothing. The summary
(``summary.md``, ``summary.html``, ``summary.json``'s ``changes``) says "N totals changed
since the last run" from ``changes.json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from grader.atomic import write_json_atomic, write_text_atomic
from grader.bulk.layout import CHANGES_JSON, CHANGES_MD
from grader.bulk.record import GradingRecord


@dataclass(frozen=True)
class Change:
    id: str
    old_total: float
    new_total: float
    old_status: str
    new_status: str

    @property
    def total_changed(self) -> bool:
        return round(self.old_total, 6) != round(self.new_total, 6)

    def to_json(self) -> dict:
        return {**asdict(self), "total_changed": self.total_changed}

    @classmethod
    def from_json(cls, data: dict) -> "Change":
        return cls(str(data["id"]), float(data["old_total"]), float(data["new_total"]), str(data["old_status"]),
                   str(data["new_status"]))


def previous_results(out: Path, ids: list[str]) -> dict[str, tuple[float, str]]:
    """``{id: (total, status)}`` of every student in ``ids`` that has a readable record."""
    found = {}
    for ident in ids:
        record = GradingRecord.read(Path(out) / ident / "grading.json")
        if record is not None:
            found[ident] = (record.score, record.status)
    return found


def changes_since(previous: dict[str, tuple[float, str]], out: Path) -> list[Change]:
    """The students whose total or status differs from ``previous``, by id."""
    changes = []
    for ident, (old_total, old_status) in sorted(previous.items()):
        record = GradingRecord.read(Path(out) / ident / "grading.json")
        if record is None:
            continue
        change = Change(ident, old_total, record.score, old_status, record.status)
        if change.total_changed or old_status != record.status:
            changes.append(change)
    return changes


def clear(out: Path) -> None:
    """Remove the previous run's change list."""
    for name in (CHANGES_MD, CHANGES_JSON):
        (Path(out) / name).unlink(missing_ok=True)


def write_changes(out: Path, changes: list[Change]) -> None:
    """Write ``changes.json`` and ``changes.md`` if anybody changed (else write nothing)."""
    if not changes:
        return
    write_json_atomic(Path(out) / CHANGES_JSON, {"count": len(changes), "changes": [c.to_json() for c in changes]})
    write_text_atomic(Path(out) / CHANGES_MD, changes_markdown(changes))


def read_changes(out: Path) -> list[Change]:
    """The change list in ``out`` (empty if there is none or it cannot be read)."""
    try:
        data = json.loads((Path(out) / CHANGES_JSON).read_text())
        return [Change.from_json(change) for change in data["changes"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def headline(changes: list[Change]) -> str:
    """``3 totals changed since the last run`` (and the status-only changes, if any)."""
    totals = sum(change.total_changed for change in changes)
    text = f"{totals} total{'s' * (totals != 1)} changed since the last run"
    if len(changes) > totals:
        others = len(changes) - totals
        text += f" ({others} more student{'s' * (others != 1)} changed status only)"
    return text


def changes_markdown(changes: list[Change]) -> str:
    lines = ["# Changes since the last run", "", f"{headline(changes)} (`course grade --force`).", "",
             "| id | old total | new total | old status | new status |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {_cell(c.id)} | {c.old_total:g} | {c.new_total:g} | {c.old_status} | {c.new_status} |"
              for c in changes]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|")


__all__ = ["Change", "previous_results", "changes_since", "clear", "write_changes", "read_changes", "headline",
           "changes_markdown"]
