"""The grading process's side of the feedback page: pictures per check, the page at the end.

``grader.plugin`` adds the options (``add_options``), registers this module as a pytest
plugin and calls ``write_outputs(config, results)`` at session finish, after
``results.json``. Nothing is drawn (matplotlib is not even imported) unless ``--html
PATH`` or ``--figures PATH`` is given. Then, as each check ends, this process keeps what
to draw, per check node id:

- a failed check whose ``CheckFailed`` carries comparisons (the checks that opt in with
  ``grader.checking.expectations.Pictures``): their four pictures each;
- a check that asked for pictures through the ``pictures`` fixture, passed or failed:
  the accuracy bars call ``pictures.bar(outcome)`` with the grader's own measurements of
  the trained weights (``grader.checking.bar_scoring.BarOutcome``).

They are drawn at session finish (``write_outputs``), outside every check's time limit
(the check timer is still armed while a report is made), each failure to draw costing
only its pictures.

``--figures PATH`` writes them as JSON, check node id -> ``[{"title", "png", "note",
"check"}]`` (``png`` base64, ``check`` the check's ``results.json`` name); ``--html PATH``
writes ``render_page(results, figures)``, the page ``course grade`` makes from the same
two files.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from grader.atomic import write_json_atomic, write_text_atomic
from grader.check_spec import InvalidCheck, is_check, spec_of
from grader.checking.expectations import CheckFailed

_WANTED = pytest.StashKey[dict[str, tuple]]()  # node id -> (results.json name, comparisons, requests)
_REQUESTS = pytest.StashKey[list[tuple]]()


def add_options(group: Any) -> None:
    group.addoption("--html", default=None, metavar="PATH",
                    help="write a self-contained HTML feedback page (scores, messages, pictures) to PATH")
    group.addoption("--figures", default=None, metavar="PATH",
                    help="write each check's pictures as JSON (node id -> [{title, png}]) to PATH")


def wanted(config: pytest.Config) -> bool:
    """Whether this run draws pictures (``--html`` or ``--figures`` given)."""
    return bool(config.getoption("--html", None) or config.getoption("--figures", None))


class Pictures:
    """The ``pictures`` fixture: what a check asks to be drawn for the feedback page."""

    def __init__(self, item: pytest.Item):
        self._item = item

    def bar(self, outcome: Any) -> None:
        """An accuracy bar's curve, confusion matrix and misclassified digits, from the
        grader's measurements in ``outcome`` (a ``BarOutcome``, fresh or replayed)."""
        if wanted(self._item.config):
            requests = self._item.stash.setdefault(_REQUESTS, [])
            requests.append(("bar", list(outcome.curve), float(outcome.bar), outcome.predictions))


@pytest.fixture
def pictures(request: pytest.FixtureRequest) -> Pictures:
    return Pictures(request.node)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> None:
    """Keep what to draw for ``item`` (nothing is drawn here: see the module docstring)."""
    if call.when != "call" or not wanted(item.config) or not is_check(item):
        return None
    comparisons = ()
    if call.excinfo is not None and call.excinfo.errisinstance(CheckFailed):
        comparisons = tuple(getattr(call.excinfo.value, "figures", ()))
    requests = tuple(item.stash.get(_REQUESTS, []))
    if comparisons or requests:
        try:
            spec = spec_of(item)
            name = f"{spec.exercise}: {spec.title}"
        except InvalidCheck:
            name = item.nodeid
        else:
            if spec.withheld:  # the page shows it without pictures: none drawn, its title not in the sidecar
                return None
        item.config.stash.setdefault(_WANTED, {})[item.nodeid] = (name, comparisons, requests)
    return None


def draw_all(config: pytest.Config) -> dict[str, list[dict]]:
    """Node id -> its pictures (``{"title", "png", "note", "check"}``), drawn now."""
    drawn: dict[str, list[dict]] = {}
    for nodeid, (name, comparisons, requests) in config.stash.get(_WANTED, {}).items():
        try:
            pictures = _draw(comparisons, requests)
        except Exception as error:  # a picture must never cost a check or the run
            print(f"feedback page: no pictures for {nodeid} ({type(error).__name__}: {error})", file=sys.stderr)
            continue
        if pictures:
            drawn[nodeid] = [{**picture, "check": name} for picture in pictures]
    return drawn


def _draw(comparisons, requests) -> list[dict]:
    from grader.feedback_page import figures

    drawn = []
    for comparison in comparisons:
        drawn += figures.comparison_pngs(comparison)
    for kind, *data in requests:
        if kind == "bar":
            from grader.mnist import load_data

            (_, _), (x_test, y_test) = load_data()
            curve, bar, predictions = data
            drawn += figures.bar_pngs(curve, bar, predictions, y_test, x_test)
    return drawn


def write_outputs(config: pytest.Config, results: dict) -> None:
    """``--figures`` and ``--html``, from ``results`` (what ``results.json`` holds)."""
    figures_path, html_path = config.getoption("--figures", None), config.getoption("--html", None)
    if not (figures_path or html_path):
        return
    drawn = draw_all(config)
    if figures_path:
        write_json_atomic(Path(figures_path), drawn)
    if html_path:
        from grader.feedback_page.page import render_page

        write_text_atomic(Path(html_path), render_page(results, drawn))
