"""Bulk grading throughput: submissions per hour and peak memory per worker.

Runs the real ``course grade`` (isolated workers, default limits) on two generated
classes, each with ``--workers 1`` and ``--workers 2``:

- ``training``: every student's ``model.py``, ``training.py`` and ``keras_model.py``
  differ (by a constant of their own: a comment would not do, the bars' cache key is the
  modules' token stream), so every student trains both accuracy bars: what a real class
  costs the first time it is graded.
- ``cached``: students share the reference's model files (a constant differs in
  ``activations.py``), so the bars replay from ``RESULTS/.train_cache`` (warmed before
  timing): what a re-grade costs, e.g. after a fix to a non-training check.

Peak memory is the largest resident set a worker reached (``peak_worker_mb`` in each
student's ``grading.json``: the ``ru_maxrss`` the kernel reports when the worker exits).

Prints a table and writes ``bench/results/bulk_throughput.json``.
Usage: ``python bench/bulk_throughput.py [--training 4] [--cached 10] [--workers 1 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.attacks.corpus import folder  # noqa: E402

RESULTS = REPO / "bench" / "results" / "bulk_throughput.json"


def make_class(root: Path, students: int, changed: tuple[str, ...]) -> Path:
    """``students`` copies of the reference, each with a constant of its own in ``changed``."""
    submissions = root / "submissions"
    submissions.mkdir(parents=True)
    for number in range(students):
        folder({name: f"STUDENT = {number}" for name in changed})(submissions, {"id": f"student{number:03d}"})
    return submissions


def course_grade(submissions: Path, out: Path, workers: int) -> float:
    """Grade the class into ``out``; return the wall time in seconds."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grader.cli", "grade", str(submissions), "--out", str(out),
                    "--workers", str(workers)], cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - started


def measure(name: str, submissions: Path, root: Path, workers: int, warm_cache: Path | None) -> dict:
    out = root / f"{name}-{workers}"
    if warm_cache:
        shutil.copytree(warm_cache, out / ".train_cache")
    wall = course_grade(submissions, out, workers)
    records = [json.loads(path.read_text()) for path in out.glob("*/grading.json")]
    return {
        "class": name, "workers": workers, "students": len(records), "wall_s": round(wall, 1),
        "per_hour": round(len(records) / wall * 3600),
        "peak_worker_mb": max((record.get("peak_worker_mb") or 0 for record in records), default=0),
        "statuses": sorted({record["status"] for record in records}),
        "mean_score": round(sum(record["score"] for record in records) / max(len(records), 1), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--training", type=int, default=4, help="students in the class that trains (0: skip)")
    parser.add_argument("--cached", type=int, default=10, help="students in the class replayed from the cache")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bulk-bench-") as temporary:
        root = Path(temporary)
        if args.cached:
            submissions = make_class(root / "cached", args.cached, ("activations",))
            warm = root / "warm"
            course_grade(make_class(warm, 1, ()), warm / "out", 1)  # trains the reference's bars once
            for workers in args.workers:
                rows.append(measure("cached", submissions, root, workers, warm / "out" / ".train_cache"))
                print(json.dumps(rows[-1]), flush=True)
        if args.training:
            submissions = make_class(root / "training", args.training, ("model", "training", "keras_model"))
            for workers in args.workers:
                rows.append(measure("training", submissions, root, workers, None))
                print(json.dumps(rows[-1]), flush=True)
    print(f"\n{'class':<9} {'workers':>7} {'students':>8} {'wall s':>7} {'per hour':>8} {'peak MB/worker':>14}")
    for row in rows:
        print(f"{row['class']:<9} {row['workers']:>7} {row['students']:>8} {row['wall_s']:>7} "
              f"{row['per_hour']:>8} {row['peak_worker_mb']:>14}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average": os.getloadavg()}
    RESULTS.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
