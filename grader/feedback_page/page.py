"""``render_page(results, figures, record=None)``: one student's feedback as one HTML page.

Pure and deterministic: the page is a function of its three arguments only, so the
plugin's ``--html`` and the bulk grader's ``feedback.html`` (rendered from ``results.json``,
the ``--figures`` sidecar and ``grading.json``) are the same bytes. The page is
self-contained: inline CSS, pictures as ``data:image/png;base64`` URLs, no script, no
font, nothing to fetch (its Content-Security-Policy forbids all of it anyway).

What it shows: the total and, with a ``record``, the status, its reason, staging notes and
the static screen's flags (as ``feedback.md`` does); then per exercise, in course order,
its points, the stubs still to write, every failed check with its message and pictures,
the checks that passed (pictures too: a passed bar shows its curve), and the checks
whose ``visibility`` is not ``"visible"`` only as "a check your instructor runs" with
their points (no title, message or picture).

Escaping: every text reaches the page through Jinja2 with autoescaping on, so check
messages (which quote student output and exception messages), the record's reason,
notes and flags, and file names are shown as text, never read as markup or as a
template. Pictures are accepted only as base64 PNG data (checked, re-encoded here).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from grader.paths import EXERCISE_MODULES
from grader.report import BAR_TAG, NOT_IMPLEMENTED

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: A picture larger than this is left out (the grader's are 2-20 KB).
MAX_PNG_BYTES = 400_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: What a check that is not "visible" shows instead of its title.
HIDDEN_CHECK = "a check your instructor runs"
STATUS_TEXT = {
    "graded": "graded",
    "timeout": "graded, but some of your code ran out of time",
    "memory": "graded, but some of your code ran out of memory",
    "crashed": "graded, but some of your code stopped the grader's worker",
    "invalid": "not graded",
}

_ENVIRONMENT = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                           autoescape=select_autoescape(default=True, default_for_string=True),
                           undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


@dataclass
class CheckView:
    title: str  # HIDDEN_CHECK for a check that is not visible
    score: float
    max_score: float
    passed: bool
    hidden: bool = False
    bar: bool = False  # an accuracy bar
    message: str = ""
    figures: list[dict] = field(default_factory=list)


@dataclass
class ExerciseView:
    name: str
    score: float = 0.0
    max_score: float = 0.0
    stubs: list[str] = field(default_factory=list)  # functions still to write
    stub_points: float = 0.0
    failed: list[CheckView] = field(default_factory=list)
    passed: list[CheckView] = field(default_factory=list)
    hidden: list[CheckView] = field(default_factory=list)
    checks: int = 0
    checks_passed: int = 0


def render_page(results: Mapping, figures: Mapping | None = None, record: Mapping | None = None) -> str:
    """The HTML page of ``results`` (``results.json``), ``figures`` (check node id -> list of
    ``{"title", "png", ...}``, the ``--figures`` sidecar) and ``record`` (``grading.json``)."""
    results = results if isinstance(results, Mapping) else {}
    record = record if isinstance(record, Mapping) else None
    exercises = _exercises(results, _figures_by_check(figures if isinstance(figures, Mapping) else {}))
    context = {
        "title": f"Feedback for {_text(record.get('id'))}" if record and record.get("id") else "Your feedback",
        "score": _number(results.get("score")),
        "max_score": _number(results.get("max_score")),
        "exercises": exercises,
        "record": _record_view(record) if record else None,
        "not_graded": not exercises and str(results.get("output", "")).startswith("Not graded"),
        "results_output": _text(results.get("output")),
        "hidden_check": HIDDEN_CHECK,
    }
    return _ENVIRONMENT.get_template("page.html.j2").render(context)


def _exercises(results: Mapping, figures: Mapping[str, list[dict]]) -> list[ExerciseView]:
    tests = results.get("tests")
    views: dict[str, ExerciseView] = {}
    for test in tests if isinstance(tests, list) else []:
        if not isinstance(test, Mapping):
            continue
        tags = test.get("tags") if isinstance(test.get("tags"), list) else []
        exercise = _text(tags[0]) if tags else "other"
        name = _text(test.get("name"))
        title = name.split(": ", 1)[1] if name.startswith(f"{exercise}: ") else name
        view = views.setdefault(exercise, ExerciseView(exercise))
        score, max_score = _number(test.get("score")), _number(test.get("max_score"))
        passed = test.get("status") == "passed"
        view.score += score
        view.max_score += max_score
        view.checks += 1
        view.checks_passed += passed
        if test.get("visibility", "visible") != "visible":
            view.hidden.append(CheckView(HIDDEN_CHECK, score, max_score, passed, hidden=True))
            continue
        output = _text(test.get("output"))
        if not passed and output.endswith(NOT_IMPLEMENTED):
            stub = output.removesuffix(NOT_IMPLEMENTED)
            if stub not in view.stubs:
                view.stubs.append(stub)
            view.stub_points += max_score - score
            continue
        pictures = figures.get(f"nodeid:{test.get('nodeid')}") or figures.get(f"name:{name}") or []
        check = CheckView(title, score, max_score, passed, bar=BAR_TAG in tags[1:], message=output, figures=pictures)
        (view.passed if passed else view.failed).append(check)
    order = {name: index for index, name in enumerate(EXERCISE_MODULES)}
    return sorted(views.values(), key=lambda view: (order.get(view.name, len(order)), view.name))


def _figures_by_check(figures: Mapping) -> dict[str, list[dict]]:
    """``"nodeid:<id>"`` and ``"name:<results.json name>"`` -> the valid pictures."""
    found: dict[str, list[dict]] = {}
    for nodeid, entries in figures.items():
        if not isinstance(entries, list):
            continue
        pictures = [picture for picture in map(_picture, entries) if picture is not None]
        if not pictures:
            continue
        found[f"nodeid:{nodeid}"] = pictures
        for entry in entries:
            if isinstance(entry, Mapping) and isinstance(entry.get("check"), str):
                found[f"name:{entry['check']}"] = pictures
    return found


def _picture(entry: Any) -> dict | None:
    """``{"title", "note", "src"}`` of a valid picture entry, else None."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("png"), str):
        return None
    try:
        data = base64.b64decode(entry["png"], validate=True)
    except (binascii.Error, ValueError):
        return None
    if not data.startswith(PNG_SIGNATURE) or len(data) > MAX_PNG_BYTES:
        return None
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return {"title": _text(entry.get("title")) or "picture", "note": _text(entry.get("note")),
            "src": "data:image/png;base64," + base64.b64encode(data).decode("ascii"),
            "width": width if 0 < width <= 2000 else None, "height": height if 0 < height <= 2000 else None}


def _record_view(record: Mapping) -> dict:
    flags = []
    for flag in record.get("flags") or []:
        if isinstance(flag, Mapping):
            line = flag.get("line")
            where = f"{_text(flag.get('file'))}:{line}" if isinstance(line, int) and line else _text(flag.get("file"))
            flags.append(f"{where} {_text(flag.get('reason'))}")
    notes = record.get("notes")
    status = _text(record.get("status"))
    return {"status": STATUS_TEXT.get(status, status), "reason": _text(record.get("reason")),
            "notes": [_text(note) for note in notes] if isinstance(notes, list) else [], "flags": flags}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def points(value: float) -> str:
    return f"{value:g}"


_ENVIRONMENT.filters["points"] = points
