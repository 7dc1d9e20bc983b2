"""The class's gradebook and summary, rebuilt from the per-student files.

``rebuild(RESULTS)`` reads every ``RESULTS/<id>/grading.json`` (and its
``results.json`` for the failed checks) and writes, atomically:

- ``gradebook.csv``: id, points per exercise, total, status, reason, flagged
  (what the static screen found, ``model.py:12 imports the grader (grader.checking.expectations); ...``,
  or empty); no timing (``grading.json`` and the dashboard's slowest students have it), so
  two gradings of one class, in a pool or on a cluster, give the same bytes;
- ``summary.json`` and ``summary.md``: how many students per status, mean and median of
  the totals, a text histogram of the totals, the checks failed most often, the flagged
  submissions, the totals the last ``--force`` run changed (``changes.json``, see
  ``grader.bulk.changes``) and the most similar pairs (``similarity/similarity.json``,
  written by ``course grade --similarity``);
- ``summary.html``: the same as a page (``grader.bulk.dashboard``), with the mean and
  median of each exercise, the failure rate of each check, the slowest students and one
  row per student linking to ``<id>/feedback.html``.

It runs at the end of every ``course grade`` run, so a run killed half-way still leaves
a gradebook consistent with the students it finished (after the re-run: all of them).
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections import Counter
from pathlib import Path

from grader.atomic import write_json_atomic, write_text_atomic
from grader.bulk.changes import Change, headline, read_changes
from grader.bulk.dashboard import dashboard_html
from grader.bulk.layout import GRADEBOOK, SUMMARY_HTML, SUMMARY_JSON, SUMMARY_MD
from grader.bulk.record import STATUSES, GradingRecord
from grader.bulk.screen import flags_text
from grader.bulk.similarity import read_summary as similarity_summary
from grader.paths import EXERCISE_MODULES

HISTOGRAM_BIN = 10
MOST_FAILED = 10


def load_records(out: Path) -> list[GradingRecord]:
    """Every finished student's ``grading.json``, sorted by id (unreadable ones skipped)."""
    records = [GradingRecord.read(path) for path in sorted(Path(out).glob("*/grading.json"))]
    return sorted((record for record in records if record is not None), key=lambda record: record.id)


def rebuild(out: Path) -> dict:
    """Write the gradebook and the summary of ``out``; return the summary."""
    records = load_records(out)
    results = _load_results(out, records)
    write_text_atomic(Path(out) / GRADEBOOK, gradebook_csv(records))
    summary = summarize(records, _failed_checks(results))
    summary["changes"] = [change.to_json() for change in read_changes(out)]
    summary["similarity"] = similarity_summary(out)
    write_json_atomic(Path(out) / SUMMARY_JSON, summary)
    write_text_atomic(Path(out) / SUMMARY_MD, summary_markdown(summary))
    write_text_atomic(Path(out) / SUMMARY_HTML, dashboard_html(summary, records, results))
    return summary


def gradebook_csv(records: list[GradingRecord]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", *EXERCISE_MODULES, "total", "status", "reason", "flagged"])
    for record in records:
        points = [f"{record.exercises.get(name, 0.0):g}" for name in EXERCISE_MODULES]
        writer.writerow([record.id, *points, f"{record.score:g}", record.status, record.reason,
                         flags_text(record.flags)])
    return buffer.getvalue()


def _load_results(out: Path, records: list[GradingRecord]) -> dict[str, dict]:
    """Each student's ``results.json`` by id (unreadable ones left out)."""
    results = {}
    for record in records:
        try:
            data = json.loads((Path(out) / record.id / "results.json").read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            results[record.id] = data
    return results


def _failed_checks(results: dict[str, dict]) -> Counter:
    failed: Counter = Counter()
    for data in results.values():
        failed.update(test["name"] for test in data.get("tests", []) if test.get("status") != "passed")
    return failed


def summarize(records: list[GradingRecord], failed: Counter) -> dict:
    totals = [record.score for record in records]
    maximum = max((record.max_score for record in records), default=0.0)
    return {
        "count": len(records),
        "statuses": {status: sum(r.status == status for r in records) for status in STATUSES},
        "max_score": maximum,
        "mean": round(statistics.fmean(totals), 2) if totals else None,
        "median": statistics.median(totals) if totals else None,
        "histogram": _histogram(totals, maximum),
        "most_failed": [{"check": name, "students": count} for name, count in failed.most_common(MOST_FAILED)],
        "sandbox_not_applied": sorted({f"{what}: {why}" for record in records
                                       for what, why in _not_applied(record).items()}),
        "flagged": [{"id": record.id, "flags": flags_text(record.flags)}
                    for record in records if record.flags],
    }


def _not_applied(record: GradingRecord) -> dict:
    """What the student's sandbox could not apply on this machine (``grading.json``)."""
    return (record.sandbox or {}).get("not_applied") or {}


def _histogram(totals: list[float], maximum: float) -> list[dict]:
    """Counts of totals per bin of ``HISTOGRAM_BIN`` points; the top bin ends at the maximum."""
    top = max([maximum, *totals, 1.0])
    counts = [0] * math.ceil(top / HISTOGRAM_BIN)
    for total in totals:
        counts[min(int(total // HISTOGRAM_BIN), len(counts) - 1)] += 1
    last = len(counts) - 1
    return [{"from": index * HISTOGRAM_BIN, "to": top if index == last else (index + 1) * HISTOGRAM_BIN - 1,
             "count": count} for index, count in enumerate(counts)]


def summary_markdown(summary: dict) -> str:
    lines = ["# Class summary", ""]
    if not summary["count"]:
        return "\n".join(lines + ["No student graded yet."]) + "\n"
    statuses = ", ".join(f"{count} {status}" for status, count in summary["statuses"].items() if count)
    lines += [f"- students: {summary['count']} ({statuses})",
              f"- mean: {summary['mean']:g} / {summary['max_score']:g}",
              f"- median: {summary['median']:g}"]
    changes = summary.get("changes") or []
    if changes:
        lines.append(f"- {headline([Change.from_json(change) for change in changes])}: see changes.md")
    lines += ["", "## Totals", "", "```"]
    labels = [f"{b['from']:g}-{b['to']:g}" for b in summary["histogram"]]
    width = max(len(label) for label in labels)
    for label, b in zip(labels, summary["histogram"]):
        lines.append(f"{label.rjust(width)} | {'#' * b['count']} {b['count']}")
    lines += ["```", "", "## Checks failed most often", ""]
    lines += [f"- {item['students']} student{'s' * (item['students'] != 1)}: {item['check']}"
              for item in summary["most_failed"]] or ["- none"]
    lines += ["", "## Flagged submissions", ""]
    lines += [f"- {item['id']}: {item['flags']}" for item in summary.get("flagged", [])] or ["- none"]
    similarity = summary.get("similarity")
    if similarity:
        lines += ["", "## Most similar code", ""]
        lines += [f"- {p['module']}: {p['a']} and {p['b']}, {p['score']:.3f}" for p in similarity["pairs"]] \
            or ["- no pair above the thresholds"]
        lines += ["", f"The matching code side by side: {similarity['report']}."]
    if summary["sandbox_not_applied"]:
        lines += ["", "## Sandbox protections this machine did not allow", ""]
        lines += [f"- {gap}" for gap in summary["sandbox_not_applied"]]
    return "\n".join(lines) + "\n"


__all__ = ["rebuild", "load_records", "gradebook_csv", "summarize", "summary_markdown"]
