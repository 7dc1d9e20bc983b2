"""``course grade``: grade every submission of a class, in parallel, resumably.

Students are graded ``workers`` at a time (each by its own pytest process with its own
sandboxed worker), under a progress bar with the time left. A student whose
``grading.json`` exists is skipped unless ``force``; one lock file keeps two runs from
writing to the same results folder. Whatever happens (a finished run, Ctrl-C, a
crash), the gradebook and the summary are rebuilt from the per-student files at the
end; a run killed outright loses only the students in flight, which the next run
grades. Every entry found gets a row: a student the grader itself failed on is
published ``invalid`` with the error (and graded again by the next run).

With ``force``, the totals and statuses of the students about to be graded again are
read first, and the run ends by writing which of them changed (``changes.md``,
``changes.json``: ``grader.bulk.changes``; every run removes the previous run's). With
``similarity``, a finished run also compares the class's code
(``grader.bulk.similarity``) into ``RESULTS/similarity/``, and the summary lists the top
pairs.

With ``cluster`` (``grader.bulk.cluster``), the students are graded as Dask tasks instead of
by the local pool; everything else is the same, and the results are too (the gradebook
holds no timing, so two gradings of one class give the same bytes). This process holds
the lock for the whole run: ``RESULTS`` is shared by the machines of the cluster, and
``flock`` on NFSv4 is a real lock across its clients (Linux maps it to a POSIX lock on
NFS), so two runs on two machines still cannot write the same results folder.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from grader.bulk import changes
from grader.bulk.gradebook import rebuild
from grader.bulk.layout import SIMILARITY_DIR
from grader.bulk.similarity import write_report
from grader.bulk.student import (
    Interrupted,
    Settings,
    grade_student,
    is_done,
    publish_failure,
)
from grader.bulk.submissions import Entry, discover
from grader.errors import CourseError
from grader.tf_runtime import CORES_VARIABLE, cores_each
from grader.warm_grader import WarmGrader

if TYPE_CHECKING:
    from grader.bulk.cluster import ClusterSpec


class RunLocked(CourseError, RuntimeError):
    """Another ``course grade`` is writing to the same results folder."""


@contextmanager
def _exclusive(out: Path):
    with open(out / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(f"another `course grade` is writing to {out}") from None
        yield


def grade_class(submissions: Path, settings: Settings, workers: int = 1, force: bool = False,
                progress: bool = True, similarity: bool = False, cluster: "ClusterSpec | None" = None) -> dict:
    """Grade every entry of ``submissions`` into ``settings.out`` (``workers`` at a time, or
    on ``cluster``); return the summary.

    The summary gains ``skipped`` (already graded) and ``failed`` (ids this run could not
    grade because of an error in the grader itself, with the error).
    """
    out = settings.out
    if settings.cores is None and not os.environ.get(CORES_VARIABLE) and (cluster is None or cluster.workers):
        # students graded side by side on this machine: each grading gets its share of the cores
        settings = dataclasses.replace(settings, cores=cores_each(cluster.workers if cluster else workers))
    if Path(submissions).resolve() == out.resolve():
        raise CourseError(f"the results folder cannot be the submissions folder ({out})")
    out.mkdir(parents=True, exist_ok=True)
    with _exclusive(out):
        shutil.rmtree(out / ".work", ignore_errors=True)  # what a killed run left in flight
        changes.clear(out)  # they described the previous run
        entries = discover(Path(submissions), skip=out)
        todo = [entry for entry in entries if force or not is_done(out, entry)]
        previous = changes.previous_results(out, [entry.id for entry in todo]) if force else None
        failed: dict[str, str] = {}
        try:
            _grade_all(todo, settings, workers, progress, failed, cluster)
            if similarity:
                write_report(Path(submissions), out / SIMILARITY_DIR, skip=out)
        finally:
            shutil.rmtree(out / ".work", ignore_errors=True)
            if previous is not None:
                changes.write_changes(out, changes.changes_since(previous, out))
            summary = rebuild(out)
    return {**summary, "skipped": len(entries) - len(todo), "failed": failed}


def _grade_all(todo: list[Entry], settings: Settings, workers: int, progress: bool, failed: dict,
               cluster: "ClusterSpec | None") -> None:
    if not todo:
        return
    with tqdm(total=len(todo), desc="grading", unit="student", disable=not progress, file=sys.stderr) as bar:
        def finish(entry: Entry, result: Callable[[], object]) -> None:
            """Settle one student whose grading ended (``result()`` raises what it raised)."""
            try:
                record = result()
                bar.set_postfix_str(f"{entry.id}: {record.status}", refresh=False)
            except Interrupted:
                return
            except Exception as error:  # noqa: BLE001 - one student must not stop the class
                failed[entry.id] = f"{type(error).__name__}: {error}"
                bar.write(f"course grade: could not grade {entry.id}: {failed[entry.id]}")
                try:
                    publish_failure(entry, settings, error)  # a row that says why
                except Exception as also:  # noqa: BLE001 - e.g. the disk is full
                    failed[entry.id] += f" (and its row could not be written: {also})"
            bar.update()

        if cluster is not None:
            from grader.bulk.cluster import grade_on_cluster

            grade_on_cluster(todo, settings, cluster, finish)
        else:
            _grade_in_pool(todo, settings, workers, finish)


def _grade_in_pool(todo: list[Entry], settings: Settings, workers: int,
                   finish: Callable[[Entry, Callable[[], object]], None]) -> None:
    """``workers`` threads, each grading one student at a time with runs forked from one warm server."""
    with WarmGrader() as launcher, ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(grade_student, entry, settings, launcher): entry for entry in todo}
        try:
            for future in as_completed(futures):
                finish(futures[future], future.result)
        except KeyboardInterrupt:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
