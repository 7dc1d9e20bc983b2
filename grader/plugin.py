"""The grader's pytest plugin: target options, points, clean messages, score table.

Loaded by ``grader/conftest.py``. Every check in ``grader/test_<exercise>.py`` carries
exactly one ``@pytest.mark.points(n)``; its ``CheckSpec`` (``grader.check_spec``) is parsed
once at collection. At the end of every run the plugin prints the score table (then, in
a student release, how many withheld checks the instructor runs) and writes Gradescope's
``results.json``, each check with its visibility.

Options beyond pytest's: ``--target``, ``--isolate`` and the worker's limits
(``--worker-timeout``, ``--worker-memory``, ``--worker-incidents``; their defaults come
from ``COURSE_WORKER_TIMEOUT``, ``COURSE_WORKER_MEMORY_MB``, ``COURSE_WORKER_INCIDENTS``),
``--results``, the training cache, ``--grader-seed``, ``--exercise NAME`` (grade one
exercise; repeatable), ``--list-checks FILE`` (write every check's spec as JSON) and the
feedback page's ``--html PATH`` and ``--figures PATH`` (``grader.feedback_page.collect``).

A check that runs past its time limit is stopped by this plugin's own timer
(``CheckTimedOut``, raised by SIGALRM in the check's thread; pytest-timeout only calls
it), so its message is the same one line wherever it stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import zlib
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from grader import __version__
from grader.atomic import write_json_atomic
from grader.check_spec import (
    CheckSpec,
    DEFAULT_SEED,
    InvalidCheck,
    is_check,
    more_checks_line,
    spec_of,
)
from grader.checking.bar_runs import BarRuns, ahead_worker_options
from grader.checking.bar_scoring import BAR_RUNS, BarOutcome, run_bar
from grader.checking.expectations import CheckFailed
from grader.checking.train_cache import TrainCache
from grader.feedback_page import collect as feedback_page
from grader.isolation import open_gateway, shared, staged_worker
from grader.isolation.protocol import CallInterrupted
from grader.paths import EXERCISE_MODULES, REPO_ROOT
from grader.report import (
    CheckResult,
    Scoreboard,
    failure_report,
    gradescope_results,
    score_table,
)
from grader.target import Target, resolve_target

_BOARD = pytest.StashKey[Scoreboard]()
_STARTED = pytest.StashKey[float]()
_SPECS = pytest.StashKey[dict[str, CheckSpec]]()


class CheckTimedOut(CallInterrupted):
    """A check ran past its time limit (a ``BaseException``: ``except Exception`` in student
    code cannot swallow it, and an in-process probe lets it through)."""


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
    group.addoption("--grader-seed", type=int, default=DEFAULT_SEED,
                    help="seed for the randomized checks and the training runs")
    group.addoption("--worker-timeout", type=float, default=_env_number("COURSE_WORKER_TIMEOUT", float),
                    help="with --isolate: seconds one call into student code may take (default 30)")
    group.addoption("--worker-memory", type=int, default=_env_number("COURSE_WORKER_MEMORY_MB", int),
                    help="with --isolate: MB of memory per worker (default 4096)")
    group.addoption("--worker-incidents", default=os.environ.get("COURSE_WORKER_INCIDENTS") or None,
                    help="with --isolate: append every worker fault and sandbox record to this JSON-lines file")
    group.addoption("--exercise", action="append", default=[], choices=EXERCISE_MODULES,
                    help="grade only this exercise's checks (repeatable)")
    group.addoption("--list-checks", default=None,
                    help="write every check's exercise, title, points and id to this JSON file")
    feedback_page.add_options(group)


def _env_number(name: str, kind: type) -> float | int | None:
    """The number in environment variable ``name``, or None (the worker's own default)."""
    try:
        return kind(os.environ[name])
    except (KeyError, ValueError):
        return None


def _worker_options(config: pytest.Config) -> dict:
    return {"timeout": config.getoption("--worker-timeout"), "memory_mb": config.getoption("--worker-memory"),
            "incidents": config.getoption("--worker-incidents")}


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
    if not config.pluginmanager.is_registered(feedback_page):  # its pictures fixture and report hook
        config.pluginmanager.register(feedback_page, "grader-feedback-page")


def _grading(config: pytest.Config) -> bool:
    """True when this run collects the grader's checks (not only the project's tests)."""
    here = Path(__file__).resolve().parent
    paths = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    return any(path == here or path.parent == here for path in paths)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Parse every check's spec (all errors at once), keep the ``--exercise`` checks, and
    put the accuracy bars (the only slow checks) last: every other result comes in seconds."""
    specs, errors = {}, []
    for item in filter(is_check, items):
        try:
            spec = specs[item.nodeid] = spec_of(item)
        except InvalidCheck as error:
            errors.append(str(error))
            continue
        if item.get_closest_marker("timeout") is None:  # so pytest-timeout calls our timer
            item.add_marker(pytest.mark.timeout(spec.time_limit))
    if errors:
        raise pytest.UsageError("grader checks without valid points:\n" + "\n".join(errors))
    config.stash[_SPECS] = specs
    wanted = config.getoption("--exercise")
    if wanted:
        dropped = [item for item in items if item.nodeid in specs and specs[item.nodeid].exercise not in wanted]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            gone = {item.nodeid for item in dropped}
            items[:] = [item for item in items if item.nodeid not in gone]
    items.sort(key=lambda item: item.nodeid in specs and specs[item.nodeid].bar)


def _spec(item: pytest.Item) -> CheckSpec | None:
    return item.config.stash.get(_SPECS, {}).get(item.nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings) -> bool | None:
    """A check's time limit: SIGALRM raises ``CheckTimedOut`` in the check."""
    if _spec(item) is None or threading.current_thread() is not threading.main_thread():
        return None  # not a check, or no signals here: pytest-timeout's own timer

    def expire(signum, frame):
        raise CheckTimedOut(f"time limit exceeded: this check took longer than its limit ({settings.timeout:g} s)")

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, settings.timeout)
    item.stash[_TIMER] = True
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_cancel_timer(item: pytest.Item) -> bool | None:
    if not item.stash.get(_TIMER, False):
        return None
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    item.stash[_TIMER] = False
    return True


_TIMER = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    """The folder being graded."""
    return Target(resolve_target(pytestconfig.getoption("--target")))


@pytest.fixture(scope="session")
def student(pytestconfig: pytest.Config, target: Target):
    """The gateway to the student's code (see ``grader.isolation.protocol``)."""
    isolate = pytestconfig.getoption("--isolate")
    gateway = open_gateway(target, isolate, **(_worker_options(pytestconfig) if isolate else {}))
    yield gateway
    gateway.close()


@pytest.fixture(scope="session")
def bar_gateway(pytestconfig: pytest.Config, student):
    """``bar_gateway(files, **options)``: a context manager giving the gateway an accuracy bar
    trains through; with ``--isolate`` a fresh worker holding only ``files`` (the canonical
    copies of the bar's modules, ``grader.checking.bar_scoring``; ``options``: its niceness and
    TensorFlow threads), in-process the student's own gateway."""
    if pytestconfig.getoption("--isolate"):
        return lambda files, **options: staged_worker(files, **_worker_options(pytestconfig), **options)
    return lambda files, **options: shared(student)


@pytest.fixture(scope="session")
def bar_runs(pytestconfig: pytest.Config, bar_gateway, target, train_cache, grader_seed):
    """The session's accuracy-bar runs (``grader.checking.bar_runs``), by exercise."""

    def train(exercise: str, progress: Callable[[str], None], ahead: int) -> BarOutcome:
        kind, model_from, trainer_from = BAR_RUNS[exercise]
        options = ahead_worker_options(ahead) if ahead else {}

        @contextlib.contextmanager
        def gateway(files):
            with bar_gateway(files, **options) as opened:
                yield runs.guarded(opened)

        return run_bar(gateway, kind, grader_seed, model_from=model_from, trainer_from=trainer_from,
                       cache=train_cache, student_folder=target.folder, progress=progress)

    runs = BarRuns(train)
    yield runs
    runs.close()


@pytest.fixture(scope="session", autouse=True)
def bars_ahead(request: pytest.FixtureRequest) -> None:
    """Under ``--isolate``, start the session's accuracy bars at its first check, so they
    train in their own workers while the other checks run (``grader.checking.bar_runs``)."""
    if not request.config.getoption("--isolate"):
        return
    specs = request.config.stash.get(_SPECS, {})
    exercises = [specs[item.nodeid].exercise for item in request.session.items
                 if item.nodeid in specs and specs[item.nodeid].bar]
    if exercises:
        request.getfixturevalue("bar_runs").start(exercises)


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
    elif call.excinfo is not None and call.excinfo.errisinstance(CheckTimedOut):
        report.check_message = report.longrepr = str(call.excinfo.value)
    spec = _spec(item)
    if spec is not None and (report.when == "call" or report.failed or report.skipped):
        _record(item.config.stash[_BOARD], spec, report)


def _record(board: Scoreboard, spec: CheckSpec, report: pytest.TestReport) -> None:
    if any(check.name == spec.nodeid for check in board.checks):
        return  # setup already failed and was recorded
    points = spec.points
    passed = report.passed and report.when == "call"
    # A passed check may leave a note for results.json (a bar: the accuracy it reached).
    output = dict(report.user_properties).get("note", "") if passed else _message(report)
    board.checks.append(
        CheckResult(
            exercise=spec.exercise,
            name=spec.nodeid,
            max_score=points,
            score=points if passed else 0.0,
            status="passed" if passed else "failed",
            output=output,
            execution_time=report.duration,
            bar=spec.bar,
            visibility=spec.visibility,
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
    """``--list-checks FILE``: every selected check's spec, in run order."""
    listing = session.config.getoption("--list-checks")
    if listing:
        specs = session.config.stash.get(_SPECS, {})
        checks = [specs[item.nodeid].listing() for item in session.items if item.nodeid in specs]
        write_json_atomic(Path(listing), checks)


def _finished_board(config: pytest.Config) -> Scoreboard:
    """The board with each check named by its title (a student reads titles, not node ids)."""
    specs = config.stash.get(_SPECS, {})
    return Scoreboard([
        CheckResult(**{**check.__dict__, "name": specs[check.name].title if check.name in specs else check.name})
        for check in config.stash[_BOARD].checks
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
    more = more_checks_line({check.exercise for check in board.checks})
    if more:
        terminalreporter.write_line(more)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    board = _finished_board(config)
    if not board.checks or config.getoption("--collect-only"):
        return
    elapsed = time.perf_counter() - config.stash[_STARTED]
    target = config.getoption("--target") or "exercises"
    results = gradescope_results(board, elapsed, {"target": str(target), "grader_version": __version__})
    write_json_atomic(Path(config.getoption("--results")), results)
    feedback_page.write_outputs(config, results)
    if exitstatus == pytest.ExitCode.TESTS_FAILED and not _internal_errors(session):
        # Failed checks are a grade, not a crash: the run itself succeeded.
        session.exitstatus = pytest.ExitCode.OK


def _internal_errors(session: pytest.Session) -> bool:
    """True if a grader fixture or the collection broke (exit non-zero then)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    return bool(reporter and reporter.stats.get("error"))
