"""No flaky bars: train the reference for both accuracy bars on several seeds.

For each seed, runs the grader's own bar procedure (``grader.checking.bar_scoring.run_bar``, no cache)
on ``solutions/`` and prints the test accuracy reached and the epochs it needed, out of
the lesson's budget of 5. Every seed must pass; the margin is the budget left over.
Writes ``bench/results/bar_seeds.json``.

Usage: ``python bench/bar_seeds.py [--seeds 0 1 2 3 4] [--bars model training keras]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from grader.checking.bar_scoring import MAX_EPOCHS, run_bar
from grader.isolation import shared
from grader.isolation.in_process import InProcessGateway
from grader.paths import SOLUTIONS_DIR
from grader.target import Target

#: The three bars as the grader runs them: (kind, which half is the grader's reference).
BARS = {"model": ("cnn", {"trainer_from": "reference"}), "training": ("cnn", {"model_from": "reference"}),
        "keras": ("keras", {})}
RESULTS = Path(__file__).resolve().parent / "results" / "bar_seeds.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--bars", nargs="+", default=list(BARS), choices=sorted(BARS))
    args = parser.parse_args()
    gateway = InProcessGateway(Target(SOLUTIONS_DIR))
    rows = []
    print(f"{'bar':8} {'seed':>4} {'passed':>6} {'accuracy':>9} {'epochs':>6} {'spare':>6} {'seconds':>8}  curve")
    for kind in args.bars:
        for seed in args.seeds:
            bar, halves = BARS[kind]
            outcome = run_bar(lambda files: shared(gateway), bar, seed, **halves)
            row = {"bar": kind, "seed": seed, "passed": outcome.passed, "accuracy": outcome.accuracy,
                   "epochs": outcome.epochs, "spare_epochs": MAX_EPOCHS - outcome.epochs,
                   "seconds": outcome.seconds, "curve": outcome.curve}
            rows.append(row)
            curve = " ".join(f"{e:g}:{a:.4f}" for e, a in outcome.curve)
            print(f"{kind:8} {seed:>4} {str(outcome.passed):>6} {outcome.accuracy:>9.4f} {outcome.epochs:>6g} "
                  f"{MAX_EPOCHS - outcome.epochs:>6g} {outcome.seconds:>8.1f}  {curve}", flush=True)
    failed = [row for row in rows if not row["passed"]]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2))
    print(f"\n{len(rows) - len(failed)}/{len(rows)} runs passed; worst case needed "
          f"{max(row['epochs'] for row in rows):g} of {MAX_EPOCHS} epochs. Written to {RESULTS.name}")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
