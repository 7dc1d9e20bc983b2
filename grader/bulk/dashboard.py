"""``RESULTS/summary.html``: the class at a glance, one self-contained page.

Rendered by ``grader.bulk.gradebook.rebuild`` beside ``summary.md``, from what it read
(every ``<id>/grading.json`` and ``<id>/results.json``, the change list of a ``--force``
run, the similarity report if there is one) and nothing else. It shows: the students per
status; the totals' mean, median and histogram (CSS bars); the mean and median of each
exercise; the checks failed most often, with the rate (students who failed the check /
students whose results list it); the totals a ``--force`` run changed; the flagged
submissions with their reasons; the slowest students; the most similar pairs; and one row
per student, whose id links to ``<id>/feedback.html`` (relative, the id percent-encoded).

The page runs no script and loads nothing (its Content-Security-Policy says so too): the
styles are inline and there is no image. Every text that comes from a submission (ids are
folder names students chose, reasons, flags, check names) goes through Jinja2's
autoescaping, so a student folder named ``<img src=x onerror=alert(1)>`` is text on the
page. ``render`` is the one Jinja2 environment of the bulk grader's pages (this one and
``grader.bulk.similarity``'s report); templates live in ``grader/bulk/templates/``.
"""

from __future__ import annotations

import statistics
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import jinja2

from grader.bulk.record import STATUSES, GradingRecord
from grader.bulk.screen import Flag
from grader.paths import EXERCISE_MODULES

TEMPLATES = Path(__file__).resolve().parent / "templates"
MOST_FAILED = 10
SLOWEST = 5
FEEDBACK_PAGE = "feedback.html"


def number(value: float | None, digits: int = 2) -> str:
    """``12``, ``12.5``, ``0.93``; ``-`` for nothing (the pages' one number format)."""
    if value is None:
        return "-"
    return f"{round(float(value), digits):g}"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                     keep_trailing_newline=True)
    environment.filters["num"] = number
    environment.filters["score"] = lambda value: "-" if value is None else f"{float(value):.3f}"
    return environment


def render(template: str, **context) -> str:
    """``template`` (a file of ``grader/bulk/templates/``) rendered with autoescaping."""
    return _environment().get_template(template).render(**context)


def student_href(ident: str) -> str:
    """The relative link from ``RESULTS/summary.html`` to ``RESULTS/<id>/feedback.html``."""
    return f"{quote(ident, safe='')}/{FEEDBACK_PAGE}"


def dashboard_html(summary: dict, records: list[GradingRecord], results: dict[str, dict]) -> str:
    """The page for ``summary`` (``grader.bulk.gradebook.summarize`` plus ``changes`` and
    ``similarity``), the records it came from and their ``results.json`` by id."""
    maxima = _exercise_maxima(results)
    return render(
        "dashboard.html.j2",
        summary=summary,
        statuses=[(status, summary["statuses"].get(status, 0)) for status in STATUSES],
        histogram=_histogram(summary.get("histogram", [])),
        exercises=_exercises(records, maxima),
        failed=_failed(results),
        slowest=[_row(record) for record in sorted(records, key=lambda r: (-r.seconds, r.id))[:SLOWEST]],
        students=[_row(record) for record in records],
        exercise_names=EXERCISE_MODULES,
        changes=summary.get("changes") or [],
        similarity=summary.get("similarity"),
    )


def _row(record: GradingRecord) -> dict:
    return {
        "id": record.id,
        "href": student_href(record.id),
        "status": record.status,
        "total": record.score,
        "max": record.max_score,
        "points": [record.exercises.get(name) for name in EXERCISE_MODULES],
        "seconds": record.seconds,
        "reason": record.reason,
        "flags": [Flag.from_json(flag).text() for flag in record.flags],
    }


def _exercise_maxima(results: dict[str, dict]) -> dict[str, float]:
    maxima: dict[str, float] = {}
    for data in results.values():
        for name, entry in (data.get("extra_data") or {}).get("exercises", {}).items():
            try:
                maxima[name] = max(maxima.get(name, 0.0), float(entry.get("max_score", 0.0)))
            except (AttributeError, TypeError, ValueError):
                continue
    return maxima


def _exercises(records: list[GradingRecord], maxima: dict[str, float]) -> list[dict]:
    rows = []
    for name in EXERCISE_MODULES:
        points = [record.exercises.get(name, 0.0) for record in records]
        mean = statistics.fmean(points) if points else None
        maximum = maxima.get(name)
        rows.append({"name": name, "max": maximum, "mean": mean,
                     "median": statistics.median(points) if points else None,
                     "percent": 100 * mean / maximum if mean is not None and maximum else 0})
    return rows


def _failed(results: dict[str, dict]) -> list[dict]:
    """The checks failed by the most students, each with how many students it was run for."""
    failed: dict[str, int] = {}
    listed: dict[str, int] = {}
    for data in results.values():
        for test in data.get("tests", []):
            name = str(test.get("name", "?"))
            listed[name] = listed.get(name, 0) + 1
            if test.get("status") != "passed":
                failed[name] = failed.get(name, 0) + 1
    ranked = sorted(failed.items(), key=lambda item: (-item[1], item[0]))[:MOST_FAILED]
    return [{"check": name, "students": count, "of": listed[name], "rate": 100 * count / listed[name]}
            for name, count in ranked]


def _histogram(bins: list[dict]) -> list[dict]:
    top = max((b["count"] for b in bins), default=0) or 1
    return [{"label": f"{b['from']:g}-{b['to']:g}", "count": b["count"], "height": 100 * b["count"] / top}
            for b in bins]


__all__ = ["render", "dashboard_html", "student_href", "TEMPLATES"]
