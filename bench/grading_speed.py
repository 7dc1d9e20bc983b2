"""Grading speed, side by side with the naive recipe, in one run (issue: fast feedback).

Measures on this machine, each in a fresh subprocess:

1. naive   - the lesson's recipe before any check runs: 5 CNN epochs with a
             ``tf.function`` step + 5 Keras ``fit`` epochs, batch 32.
2. cold    - ``pytest grader/ --target solutions`` with an empty training cache.
3. fast    - everything except the two training bars (``-k "not bar"``).
4. regrade - a copy of the solutions graded once (warm cache), ``conv2d``'s file
             edited, graded again: the second wall time.
5. throughput of the reference CNN step: steps/s and GFLOP/s for eager,
             ``tf.function`` and XLA, against this CPU's peak.

Prints a table and writes ``bench/results/grading_speed.json``.
Usage: ``python bench/grading_speed.py [--skip-naive] [--steps 300]``.
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
from grader.launch import grade as grading_run, grader_args, grading_environment  # noqa: E402

RESULTS = REPO / "bench" / "results" / "grading_speed.json"
#: Floating-point work of one training step of the lesson's CNN on a batch of 32.
#: Forward MACs per image: conv 26*26*32*9 + dense 21632*128 + 128*10; a backward pass
#: costs about twice the forward one; 2 FLOPs per MAC.
FORWARD_MACS = 26 * 26 * 32 * 9 + 21632 * 128 + 128 * 10
STEP_FLOPS = 3 * 2 * FORWARD_MACS * 32
#: Zen 4 (this machine's EPYC): two 256-bit FMA pipes = 32 fp32 FLOPs per cycle per core.
FLOPS_PER_CYCLE = 32

NAIVE = r'''
import sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np, tensorflow as tf, keras
from grader.mnist import load_data
sys.path.insert(0, sys.argv[1] + "/solutions")
from model import MNISTModel
from training import Trainer
from keras_model import build_keras_model
(x, y), (xt, yt) = load_data()
x, xt = (x / 255.0).astype("float32"), (xt / 255.0).astype("float32")
keras.utils.set_random_seed(0)
trainer = Trainer(MNISTModel())
step = tf.function(trainer.train_step)
train = tf.data.Dataset.from_tensor_slices((x[..., None], y)).shuffle(10000).batch(32)
for epoch in range(5):
    for images, labels in train:
        step(images, labels)
model = build_keras_model()
model.fit(x, y, epochs=5, batch_size=32, verbose=0)
'''

THROUGHPUT = r'''
import sys, time, json
sys.path.insert(0, sys.argv[1] + "/solutions")
import numpy as np, tensorflow as tf, keras
from model import MNISTModel
from training import Trainer
steps = int(sys.argv[2])
rng = np.random.default_rng(0)
x = rng.random((steps, 32, 28, 28, 1), dtype=np.float32)
y = rng.integers(0, 10, (steps, 32))
out = {}
for mode in ("eager", "graph", "xla"):
    keras.utils.set_random_seed(0)
    trainer = Trainer(MNISTModel())
    step = {"eager": trainer.train_step, "graph": tf.function(trainer.train_step),
            "xla": tf.function(trainer.train_step, jit_compile=True)}[mode]
    n = steps if mode != "eager" else max(steps // 3, 20)
    for i in range(5):
        step(tf.constant(x[i]), tf.constant(y[i]))
    started = time.perf_counter()
    for i in range(n):
        step(tf.constant(x[i]), tf.constant(y[i]))
    out[mode] = n / (time.perf_counter() - started)
print(json.dumps(out))
'''


def timed(command: list[str], cwd: Path = REPO) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                          env=grading_environment())
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed, done


def grade(target: Path | str, cache: Path, *extra: str) -> tuple[float, dict]:
    """Seconds to grade ``target`` in a fresh grading process, and its results.json."""
    results = cache.parent / "results.json"
    started = time.perf_counter()
    run = grading_run(grader_args(target, results, "--train-cache", str(cache), *extra), results)
    elapsed = time.perf_counter() - started
    if run.returncode != 0:
        raise SystemExit(f"grading {target} failed:\n{run.output[-3000:]}")
    return elapsed, run.results


def cpu_peak_gflops() -> tuple[float, float]:
    mhz = 0.0
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("cpu MHz"):
            mhz = float(line.split(":")[1])
            break
    return mhz / 1000, (os.cpu_count() or 1) * mhz / 1000 * FLOPS_PER_CYCLE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-naive", action="store_true", help="do not run the 190 s naive recipe")
    parser.add_argument("--steps", type=int, default=300, help="steps per throughput measurement")
    args = parser.parse_args()
    figures: dict = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                                f"Python {platform.python_version()}"}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        if not args.skip_naive:
            script = scratch / "naive.py"
            script.write_text(NAIVE)
            figures["naive_recipe_s"], _ = timed([sys.executable, str(script), str(REPO)])
        figures["cold_full_grade_s"], cold = grade("solutions", scratch / "cold" / "cache")
        figures["cold_score"] = cold["score"]
        bars = {t["name"]: t["execution_time"] for t in cold["tests"] if "accuracy" in t["name"]}
        figures["bar_seconds"] = bars
        figures["fast_checks_s"], _ = grade("solutions", scratch / "fast" / "cache", "-k", "not bar")
        copy = scratch / "student"
        shutil.copytree(REPO / "solutions", copy)
        warm_cache = scratch / "warm" / "cache"
        figures["first_grade_of_copy_s"], _ = grade(copy, warm_cache)
        with open(copy / "convolution.py", "a") as source:
            source.write("\n# an edit to conv2d's file\n")
        figures["regrade_after_conv2d_edit_s"], regrade = grade(copy, warm_cache)
        figures["regrade_score"] = regrade["score"]
        script = scratch / "throughput.py"
        script.write_text(THROUGHPUT)
        _, done = timed([sys.executable, str(script), str(REPO), str(args.steps)])
        rates = json.loads(done.stdout.strip().splitlines()[-1])
    ghz, peak = cpu_peak_gflops()
    figures["step_gflop"] = STEP_FLOPS / 1e9
    figures["cpu_peak_gflops"] = round(peak, 1)
    figures["throughput"] = {
        mode: {"steps_per_s": round(rate, 1), "gflops": round(rate * STEP_FLOPS / 1e9, 1),
               "share_of_peak": round(rate * STEP_FLOPS / 1e9 / peak, 3)}
        for mode, rate in rates.items()
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2))
    print_table(figures, ghz)


def print_table(figures: dict, ghz: float) -> None:
    naive = figures.get("naive_recipe_s")
    rows = [
        ("naive recipe (5 CNN + 5 Keras epochs)", naive, "reference"),
        ("full grader on solutions, cold cache", figures["cold_full_grade_s"],
         f"target <= 60 s{f' and <= {naive / 3:.0f} s (naive/3)' if naive else ''}"),
        ("all checks except the two bars", figures["fast_checks_s"], "target <= 10 s"),
        ("re-grade after editing conv2d (warm)", figures["regrade_after_conv2d_edit_s"], "target <= 10 s"),
    ]
    print(f"\n{figures['machine']}")
    print(f"{'measurement':45} {'seconds':>8}  note")
    for name, seconds, note in rows:
        print(f"{name:45} {seconds if seconds is None else round(seconds, 1)!s:>8}  {note}")
    print(f"\nCNN training step (batch 32): {figures['step_gflop']:.3f} GFLOP; CPU peak "
          f"{figures['cpu_peak_gflops']} GFLOP/s ({ghz:.2f} GHz x {FLOPS_PER_CYCLE} FLOP/cycle x cores)")
    for mode, entry in figures["throughput"].items():
        print(f"  {mode:6} {entry['steps_per_s']:7.1f} steps/s {entry['gflops']:7.1f} GFLOP/s "
              f"{entry['share_of_peak']:.1%} of peak")
    print(f"\nwritten to {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
