"""``course grade --cluster``: grade a class on Dask distributed instead of the local pool.

``--cluster`` takes one of (``parse_cluster``):

- ``local:N``: a ``LocalCluster`` of N worker processes, one thread each, on this machine;
- ``tcp://HOST:PORT``: an existing scheduler (``dask scheduler``, or dask-jobqueue's
  ``SLURMCluster``/``PBSCluster``/``SGECluster``: their ``scheduler_address``);
- a scheduler file (a path ending in ``.json``, as ``dask scheduler --scheduler-file``
  writes it).

Dask is an optional extra (``pip install -e '.[cluster]'``), imported here only, lazily:
without it ``--cluster`` is a ``CourseError`` saying how to install it.

Each student is one Dask task, ``grade_on_worker``: it runs ``grade_student`` in the Dask
worker's process, which never runs student code (it forks the grading process from the
worker's own ``WarmGrader``; the grading process starts the sandboxed workers). RESULTS is
on a filesystem every worker sees; each attempt grades in its own work folder and
publishes ``RESULTS/<id>/`` atomically, ``grading.json`` last, so an attempt whose Dask
worker died has published nothing, and Dask runs it again elsewhere (its
``allowed-failures``) with the same result. The grading process cannot outlive its Dask
worker: the warm server ends when its stdin (a pipe from the Dask worker) closes and
kills its runs, which die with it anyway (``PR_SET_PDEATHSIG``), and their sandboxed
workers with them.

Students sharing bar keys are ordered by ``grader.bulk.training_plan``: an entry is
submitted once the first entries of its keys finished (whatever their outcome), so each
key trains once across the cluster. (A Dask dependency would do the same inside the
scheduler, but a dependency that errs, say after its workers died too often, errs its
dependants with it; released here they are graded all the same.)

Ctrl-C (or any error) in ``course grade`` sets the run's stop ``Event``: every running
task interrupts its grading process and publishes nothing (``grade_student``'s ``stop``),
queued ones end at once; the client waits for them, then closes (a ``LocalCluster`` is
shut down), so no task of the run writes to RESULTS after its lock is released.
"""

from __future__ import annotations

import atexit
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from grader.bulk.student import INTERRUPT_GRACE, STOP_POLL, Settings, grade_student
from grader.bulk.submissions import Entry
from grader.bulk.training_plan import bar_keys, waits_for
from grader.checking.train_cache import TrainCache
from grader.errors import CourseError
from grader.warm_grader import WarmGrader

INSTALL_HINT = "pip install -e '.[cluster]'"
LOCAL_PREFIX = "local:"
ADDRESS_PREFIX = "tcp://"
#: What ``finish(entry, result)`` gets: the task's outcome, raising what the task raised.
Finish = Callable[[Entry, Callable[[], object]], None]


@dataclass(frozen=True)
class ClusterSpec:
    """Where to grade: ``workers`` local processes, or a scheduler's ``address`` or ``scheduler_file``."""

    workers: int = 0
    address: str = ""
    scheduler_file: str = ""

    def __str__(self) -> str:
        return (f"{LOCAL_PREFIX}{self.workers}" if self.workers else self.address or self.scheduler_file)


def parse_cluster(text: str) -> ClusterSpec:
    """``local:N``, ``tcp://HOST:PORT`` or ``PATH.json``; ``ValueError`` with a message otherwise."""
    if text.startswith(LOCAL_PREFIX):
        count = text.removeprefix(LOCAL_PREFIX)
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"{text!r}: local:N needs a number of worker processes above 0")
        return ClusterSpec(workers=int(count))
    if text.startswith(ADDRESS_PREFIX):
        host, _, port = text.removeprefix(ADDRESS_PREFIX).rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"{text!r}: a scheduler address is tcp://HOST:PORT")
        return ClusterSpec(address=text)
    if text.endswith(".json"):
        return ClusterSpec(scheduler_file=text)
    raise ValueError(f"{text!r} is not local:N, tcp://HOST:PORT or a scheduler file (.json)")


def distributed():
    """The ``distributed`` package, or a ``CourseError`` saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise CourseError(f"--cluster needs Dask distributed, an optional extra: {INSTALL_HINT}") from None
    return distributed


@contextmanager
def open_client(spec: ClusterSpec) -> Iterator[object]:
    """A ``distributed.Client`` of ``spec`` (a ``LocalCluster`` lives as long as it)."""
    dask = distributed()
    if spec.workers:
        with dask.LocalCluster(n_workers=spec.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None) as cluster, dask.Client(cluster) as client:
            yield client
        return
    try:
        client = dask.Client(spec.address or None, scheduler_file=spec.scheduler_file or None, timeout="60s")
    except (OSError, ValueError) as error:
        raise CourseError(f"cannot reach the Dask scheduler {spec}: {error}") from None
    with client:
        yield client


def grade_on_cluster(todo: list[Entry], settings: Settings, spec: ClusterSpec, finish: Finish) -> None:
    """Grade ``todo`` on ``spec``, one task per entry, calling ``finish`` as each ends."""
    dask = distributed()
    scratch = settings.out / ".work" / ".plan"
    cache = TrainCache(settings.out / ".train_cache")
    waiting = {ident: set(firsts) for ident, firsts in
               waits_for({entry.id: bar_keys(entry, cache, scratch) for entry in todo}).items()}
    run = uuid.uuid4().hex[:12]
    with open_client(spec) as client:
        stop = dask.Event(f"course-grade-stop-{run}", client=client)
        pending, futures = dask.as_completed(), {}

        def submit(entry: Entry) -> None:
            future = client.submit(grade_on_worker, entry, settings, stop.name, key=f"grade-{run}-{entry.id}",
                                   pure=False)
            futures[future] = entry
            pending.add(future)

        for entry in todo:
            if not waiting[entry.id]:
                submit(entry)
        try:
            for future in pending:
                entry = futures.pop(future)
                finish(entry, future.result)
                for other in todo:
                    if entry.id in waiting[other.id]:
                        waiting[other.id].discard(entry.id)
                        if not waiting[other.id]:
                            submit(other)
        except BaseException:
            _stop(client, stop, list(futures))
            raise


def _stop(client, stop, futures: list) -> None:
    """Stop the run's tasks: set ``stop`` (running ones interrupt their grading process,
    queued ones end at once), wait for them, cancel what is left. Never raises: the
    error that stopped the run is the one to report."""
    for step in (stop.set, lambda: distributed().wait(futures, timeout=INTERRUPT_GRACE + 2 * STOP_POLL + 30),
                 lambda: client.cancel(futures)):
        try:
            step()
        except Exception:  # noqa: BLE001 - the scheduler may be gone, the wait may time out
            pass


# --- in the Dask worker's process -------------------------------------------------------

_LAUNCHER: list[WarmGrader] = []
_LAUNCHER_LOCK = threading.Lock()


def worker_launcher() -> WarmGrader:
    """This process's warm grader server, started on first use (again if it died)."""
    with _LAUNCHER_LOCK:
        if not _LAUNCHER or not _LAUNCHER[0].alive:
            if not _LAUNCHER:
                atexit.register(lambda: _LAUNCHER[0].close())
            _LAUNCHER[:] = [WarmGrader()]
        return _LAUNCHER[0]


def grade_on_worker(entry: Entry, settings: Settings, stop_event: str):
    """One Dask task: grade ``entry`` here until done or the run's ``stop_event`` is set."""
    stop = distributed().Event(stop_event)
    return grade_student(entry, settings, worker_launcher(), stop=stop.is_set)


__all__ = ["ClusterSpec", "parse_cluster", "open_client", "grade_on_cluster", "grade_on_worker", "INSTALL_HINT"]
