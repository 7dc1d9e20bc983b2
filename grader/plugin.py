"""The grader's pytest plugin: target options, points, clean messages, score table.

Loaded by ``grader/conftest.py``. Every check in ``grader/test_<exercise>.py`` carries
exactly one ``@pytest.mark.points(n)``; the exercise is the module's name. At the end of
every run the plugin prints the score table and writes Gradescope's ``results.json``.
"""

from __future__ import annotations

import contextlib
import time
import zlib
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from grader import __version__
from grader.checks import CheckFailed, NotImplementedYet
from grader.gateway import open_gateway, shared, staged_worker
from grader.paths import EXERCISE_MODULES, REPO_ROOT
from grader.train_cache import TrainCache
from grader.atomic import write_json_atomic
from grader.report import CheckResult, Scoreboard, failure_report, gradescope_results, score_table
from grader.target import Target, resolve_target

#: Default per-check time limit (seconds); training checks set their own.
DEFAULT_CHECK_TIMEOUT = 60
#: The module of the accuracy-bar checks (reported after the exercises).
BARS_MODULE = "test_accuracy_bars.py"

_BOARD = pytest.StashKey[Scoreboard]()
_STARTED = pytest.StashKey[float]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "MNIST course grader")
    group.addoption("--target", default=None,
                    help="folder with the exercise modules to grade: 'exercises' (default), "
                         "'solutions', or any path (a submission)")
    group.addoption("--isolate", action="store_true",
                    help="run student code in a locked-down worker process")
    group.addoption("--results", default="results.json",
                    help="where to write Gradescope's results.json (default: ./results.json)")
    group.addoption("--no-train-cache", action="store_true",
                    help="retrain for the accuracy bars even if a cached run matches")
    group.addoption("--train-cache", default=str(REPO_ROOT / ".grader_cache"),
                    help="folder of cached accuracy-bar runs (default: .grader_cache/)")
    group.addoption("--grader-seed", type=int, default=1234,
                    help="seed for the randomized checks and the training runs")


#: pytest's defaults for ``--tb`` and ``-r``; the grader prints each failure once itself.
_PYTEST_TBSTYLE, _PYTEST_REPORTCHARS = "auto", "fE"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "points(n): points this grader check is worth")
    if _grading(config):
        # The grader's own report replaces pytest's FAILURES and short summary, unless asked
        # for (--tb=long, -ra): then pytest prints them as usual, tracebacks included.
        if config.option.tbstyle == _PYTEST_TBSTYLE:
            config.option.tbstyle = "no"
        if config.option.reportchars == _PYTEST_REPORTCHARS:
            config.option.reportchars = ""
        if not config.option.pythonwarnings:  # a student's RuntimeWarning is their check's business
            config.option.disable_warnings = True
    config.stash[_BOARD] = Scoreboard()
    config.stash[_STARTED] = time.perf_counter()


def _grading(config: pytest.Config) -> bool:
    """True when this run collects the grader's checks (not only the project's tests)."""
    here = Path(__file__).resolve().parent
    paths = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    return any(path == here or path.parent == here for path in paths)


def _exercise_of(item: pytest.Item) -> str:
    """``@pytest.mark.points(n, exercise=...)``, else the module's name ``test_<exercise>``."""
    marker = item.get_closest_marker("points")
    if marker is not None and "exercise" in marker.kwargs:
        return marker.kwargs["exercise"]
    return Path(str(item.fspath)).stem.removeprefix("test_")


def _is_check(item: pytest.Item) -> bool:
    """A grader check: a test defined in this grader/ folder (not the project's tests)."""
    return Path(str(item.fspath)).parent == Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    errors = []
    for item in filter(_is_check, items):
        markers = list(item.iter_markers("points"))
        if len(markers) != 1 or len(markers[0].args) != 1 or set(markers[0].kwargs) - {"exercise"}:
            errors.append(f"{item.nodeid}: needs exactly one @pytest.mark.points(n[, exercise=...])")
            continue
        if _exercise_of(item) not in EXERCISE_MODULES:
            errors.append(f"{item.nodeid}: {_exercise_of(item)!r} is not an exercise module")
        points = markers[0].args[0]
        if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
            errors.append(f"{item.nodeid}: points must be a positive number, got {points!r}")
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_CHECK_TIMEOUT))
    if errors:
        raise pytest.UsageError("grader checks without valid points:\n" + "\n".join(errors))
    # The accuracy bars (the only slow checks) run last: every other result comes in seconds.
    items.sort(key=lambda item: _is_check(item) and Path(str(item.fspath)).name == BARS_MODULE)


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    """The folder being graded."""
    return Target(resolve_target(pytestconfig.getoption("--target")))


@pytest.fixture(scope="session")
def student(pytestconfig: pytest.Config, target: Target):
    """The gateway to the student's code (see ``grader.gateway``)."""
    gateway = open_gateway(target, isolate=pytestconfig.getoption("--isolate"))
    yield gateway
    gateway.close()


@pytest.fixture(scope="session")
def bar_gateway(pytestconfig: pytest.Config, target: Target, student):
    """``bar_gateway(modules)``: a context manager giving the gateway an accuracy bar trains
    through; with ``--isolate`` a fresh worker holding only ``modules`` (``grader.bars``)."""
    if pytestconfig.getoption("--isolate"):
        return lambda modules: staged_worker(target, modules)
    return lambda modules: shared(student)


@pytest.fixture(scope="session")
def progress(pytestconfig: pytest.Config) -> Callable[[str], None]:
    """``progress(text)``: a line on the terminal now, while pytest captures the check's
    output (long checks say what they are doing: the accuracy bars)."""
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")

    def say(text: str) -> None:
        if reporter is None:
            return
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            reporter.ensure_newline()
            reporter.write_line(text)
            reporter.flush()

    return say


@pytest.fixture(scope="session")
def grader_seed(pytestconfig: pytest.Config) -> int:
    return pytestconfig.getoption("--grader-seed")


@pytest.fixture(scope="session")
def train_cache(pytestconfig: pytest.Config) -> TrainCache | None:
    """Where accuracy-bar runs are cached, or None with --no-train-cache."""
    if pytestconfig.getoption("--no-train-cache"):
        return None
    return TrainCache(Path(pytestconfig.getoption("--train-cache")))


@pytest.fixture
def rng(request: pytest.FixtureRequest, grader_seed: int) -> np.random.Generator:
    """A random generator per check, fixed by the grader seed and the check's name."""
    return np.random.default_rng([grader_seed, zlib.crc32(request.node.nodeid.encode())])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is not None and call.excinfo.errisinstance(CheckFailed):
        report.check_message = str(call.excinfo.value)
        if item.config.option.tbstyle in ("no", _PYTEST_TBSTYLE):  # else pytest shows the traceback
            report.longrepr = report.check_message
    elif call.excinfo is not None and "Timeout" in call.excinfo.typename + str(call.excinfo.value)[:40]:
        report.longrepr = f"time limit exceeded: this check took longer than its limit ({_limit(item)} s)"
    if _is_check(item) and (report.when == "call" or report.failed or report.skipped):
        _record(item, report)


def _limit(item: pytest.Item) -> object:
    marker = item.get_closest_marker("timeout")
    return marker.args[0] if marker and marker.args else "?"


def _record(item: pytest.Item, report: pytest.TestReport) -> None:
    board = item.config.stash[_BOARD]
    if any(check.name == item.nodeid for check in board.checks):
        return  # setup already failed and was recorded
    points = float(item.get_closest_marker("points").args[0])
    passed = report.passed and report.when == "call"
    # A passed check may leave a note for results.json (a bar: the accuracy it reached).
    output = dict(report.user_properties).get("note", "") if passed else _message(report)
    board.checks.append(
        CheckResult(
            exercise=_exercise_of(item),
            name=item.nodeid,
            max_score=points,
            score=points if passed else 0.0,
            status="passed" if passed else "failed",
            output=output,
            execution_time=report.duration,
            bar=Path(str(item.fspath)).name == BARS_MODULE,
        )
    )


def _message(report: pytest.TestReport) -> str:
    if report.failed and hasattr(report, "check_message"):
        return report.check_message
    if report.skipped:
        return f"skipped: {report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr}"
    text = str(report.longrepr)
    return text if len(text) < 4000 else text[:4000] + "..."


def pytest_collection_finish(session: pytest.Session) -> None:
    session.config.stash[_TITLES] = {item.nodeid: _check_title(item) for item in session.items}


_TITLES = pytest.StashKey[dict]()


def _check_title(item: pytest.Item) -> str:
    """A check's name for students: the first line of its docstring."""
    doc = getattr(item.function, "__doc__", None) or item.name
    return doc.strip().splitlines()[0]


def _finished_board(config: pytest.Config) -> Scoreboard:
    titles = config.stash.get(_TITLES, {})
    board = config.stash[_BOARD]
    return Scoreboard([
        CheckResult(**{**check.__dict__, "name": titles.get(check.name, check.name)})
        for check in board.checks
    ])


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Each failed check once, by exercise in course order (``report.failure_report``),
    then the score table, last."""
    board = _finished_board(config)
    if not board.checks:
        return
    failures = failure_report(board)
    if failures:
        terminalreporter.section("failed checks, by exercise")
        for line in failures:
            terminalreporter.write_line(line)
    terminalreporter.section("score")
    for line in score_table(board).splitlines():
        terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    board = _finished_board(config)
    if not board.checks or config.getoption("--collect-only"):
        return
    elapsed = time.perf_counter() - config.stash[_STARTED]
    target = config.getoption("--target") or "exercises"
    results = gradescope_results(board, elapsed, {"target": str(target), "grader_version": __version__})
    write_json_atomic(Path(config.getoption("--results")), results)
    if exitstatus == pytest.ExitCode.TESTS_FAILED and not _internal_errors(session):
        # Failed checks are a grade, not a crash: the run itself succeeded.
        session.exitstatus = pytest.ExitCode.OK


def _internal_errors(session: pytest.Session) -> bool:
    """True if a grader fixture or the collection broke (exit non-zero then)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    return bool(reporter and reporter.stats.get("error"))
