"""Recall and precision of the grader on the trust corpora (issue 4), with the accuracy bars.

Grades every entry of ``tests/corpus/mistakes.py`` and ``tests/corpus/correct_variants.py``
with the full grader (bars included, one shared training cache), ``--jobs`` grader
processes at a time, and prints:

- recall = mistakes caught (points lost in their own exercise) / mistakes;
- hinted / caught = caught mistakes whose every failing check (bars aside) names the mistake;
- isolated = mistakes that cost no other exercise a point;
- precision = correct variants scoring 100/100 / variants;
- one row per entry: points lost per exercise, caught, isolated, hinted, seconds.

Writes ``bench/results/corpus_report.json``. Exits 1 unless every mistake is caught,
isolated and hinted and every variant scores 100.

Usage: ``python bench/corpus_report.py [--jobs 2] [--no-bars] [--only ID ...]
[--train-cache DIR]``. The training cache (default ``bench/results/corpus_train_cache``)
only replays the grader's own verdicts for byte-identical modules, so a second run is
fast and gives the same figures; pass a fresh folder to retrain everything.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.corpus.build import grade_all, judge, points_lost  # noqa: E402
from tests.corpus.correct_variants import VARIANTS  # noqa: E402
from tests.corpus.mistakes import MISTAKES  # noqa: E402

RESULTS = REPO / "bench" / "results" / "corpus_report.json"
DEFAULT_CACHE = REPO / "bench" / "results" / "corpus_train_cache"


def _lost_text(lost: dict) -> str:
    return ", ".join(f"{name} -{points:g}" for name, points in lost.items()) or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="grader processes at once (default 2)")
    parser.add_argument("--no-bars", action="store_true", help='grade with -k "not bar" (quick, no training)')
    parser.add_argument("--only", nargs="+", default=None, help="grade only these entry ids")
    parser.add_argument("--train-cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()

    mistakes = [m for m in MISTAKES if not args.only or m.id in args.only]
    variants = [v for v in VARIANTS if not args.only or v.id in args.only]
    grader_args = ("-k", "not bar") if args.no_bars else ("--train-cache", str(args.train_cache))
    total = len(mistakes) + len(variants)
    done = []

    def progress(entry, outcome, seconds):
        done.append(entry.id)
        state = "error" if isinstance(outcome, BaseException) else f"{outcome.results['score']:g}"
        print(f"[{len(done):>3}/{total}] {entry.id:40} score {state:>5}  {seconds:6.1f} s", flush=True)

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="corpus-report-") as root:
        runs = grade_all([*variants, *mistakes], Path(root), *grader_args, jobs=args.jobs,
                         bars_first=not args.no_bars, on_done=progress)
    wall = time.perf_counter() - started

    rows = []
    for mistake in mistakes:
        run = runs[mistake.id]
        if isinstance(run, BaseException):
            rows.append({"kind": "mistake", "id": mistake.id, "exercise": mistake.exercise, "error": repr(run),
                         "caught": False, "isolated": False, "hinted": False, "lost": {}})
            continue
        verdict = judge(mistake, run.results)
        rows.append({
            "kind": "mistake", "id": mistake.id, "exercise": mistake.exercise, "covers": mistake.covers,
            "description": mistake.description, "lost": verdict.lost, "caught": verdict.caught,
            "isolated": verdict.isolated, "hinted": verdict.hinted, "messages": verdict.messages,
            "bar_messages": verdict.bar_messages, "seconds": run.results["execution_time"],
        })
    for variant in variants:
        run = runs[variant.id]
        ok = not isinstance(run, BaseException)
        rows.append({
            "kind": "variant", "id": variant.id, "description": variant.description,
            "modules": list(variant.modules),
            "score": run.results["score"] if ok else None, "max_score": run.results["max_score"] if ok else None,
            "lost": points_lost(run.results) if ok else {},
            "failed": [{"name": t["name"], "output": t["output"]} for t in run.failed_checks()] if ok else repr(run),
            "seconds": run.results["execution_time"] if ok else None,
        })

    mistake_rows = [row for row in rows if row["kind"] == "mistake"]
    variant_rows = [row for row in rows if row["kind"] == "variant"]
    caught = [row for row in mistake_rows if row["caught"]]
    hinted = [row for row in caught if row["hinted"]]
    isolated = [row for row in mistake_rows if row["isolated"]]
    full = [row for row in variant_rows if row["score"] is not None and row["score"] == row["max_score"]]
    max_score = 84 if args.no_bars else 100

    print(f"\n{'mistake':40} {'exercise':13} {'points lost':30} caught isolated hinted")
    for row in mistake_rows:
        print(f"{row['id']:40} {row['exercise']:13} {_lost_text(row['lost']):30} "
              f"{'yes' if row['caught'] else 'NO':6} {'yes' if row['isolated'] else 'NO':8} "
              f"{'yes' if row['hinted'] else 'NO'}")
    print(f"\n{'correct variant':40} {'modules':34} score")
    for row in variant_rows:
        print(f"{row['id']:40} {', '.join(row['modules']):34} {row['score']}/{row['max_score']}")

    summary = {
        "bars": not args.no_bars,
        "mistakes": len(mistake_rows), "caught": len(caught), "hinted": len(hinted), "isolated": len(isolated),
        "recall": len(caught) / len(mistake_rows) if mistake_rows else None,
        "hinted_share": len(hinted) / len(caught) if caught else None,
        "variants": len(variant_rows), "variants_full_score": len(full),
        "precision": len(full) / len(variant_rows) if variant_rows else None,
        "max_score": max_score, "wall_seconds": round(wall, 1), "jobs": args.jobs,
    }
    print(f"\nrecall    {len(caught)}/{len(mistake_rows)} mistakes caught in their own exercise"
          f"\nhinted    {len(hinted)}/{len(caught)} caught mistakes named by every failing check"
          f"\nisolated  {len(isolated)}/{len(mistake_rows)} mistakes cost no other exercise a point"
          f"\nprecision {len(full)}/{len(variant_rows)} correct variants at {max_score}/{max_score}"
          f"\nwall time {wall:.0f} s with {args.jobs} grader processes")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"summary": summary, "entries": rows}, indent=2))
    print(f"written to {RESULTS.relative_to(REPO)}")
    perfect = (len(caught) == len(hinted) == len(isolated) == len(mistake_rows)) and len(full) == len(variant_rows)
    raise SystemExit(0 if perfect else 1)


if __name__ == "__main__":
    main()
