"""Grading speed, side by side with the naive recipe, in one run (issue: fast feedback).

Measures on this machine, each in a fresh subprocess:

1. naive   - the lesson's recipe before any check runs: 5 CNN epochs with a
             ``tf.function`` step + 5 Keras ``fit`` epochs, batch 32.
2. cold    - ``pytest grader/ --target solutions`` with an empty training cache, in-process
             (the student's loop: checks, then the bars one after another) and with
             ``--isolate`` (Gradescope's and ``course grade``'s way: the bars start ahead, at
             the first check, each in its own worker, and train while the checks run).
3. fast    - everything except the two training bars (``-k "not bar"``).
4. regrade - a copy of the solutions graded once (warm cache), ``conv2d``'s file
             edited, graded again: the second wall time.
5. peak    - this machine's measured fp32 peak: the best of a few 4096x4096 matmuls
             through TensorFlow on all cores (the figure every GFLOP/s is a share of).
6. throughput of the reference CNN step: steps/s, GFLOP/s and share of the measured peak
             for eager, ``tf.function``, XLA (one call per batch), the whole loop in one
             XLA call, and the bars' way (``grader.probes.step_loop``: a graph loop over
             staged batches calling the XLA step), each once per thread setting of
             ``--threads`` (``COURSE_TF_THREADS``) for the bars' way.
7. scoring - the grader's forward pass over the 10,000 test images (a bar's evaluation):
             eager ops, the traced ``tf.function`` the grader uses, and NumPy.

Prints a table and writes ``bench/results/grading_speed.json``.
Usage: ``python bench/grading_speed.py [--skip-naive] [--steps 300] [--threads 2,2 2,1 1,1]``.
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
PEAK = r'''
import sys, time, json
sys.path.insert(0, sys.argv[1])
from grader.tf_runtime import tf
n = 4096
a, b = tf.random.uniform((n, n)), tf.random.uniform((n, n))
best = float("inf")
for _ in range(6):
    started = time.perf_counter()
    tf.linalg.matmul(a, b).numpy()
    best = min(best, time.perf_counter() - started)
print(json.dumps({"gflops": 2 * n ** 3 / best / 1e9}))
'''

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
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[1] + "/solutions")
from grader.tf_runtime import tf
import numpy as np, keras
from grader.probes.step_loop import StepRunner
from model import MNISTModel
from training import Trainer
steps, modes = int(sys.argv[2]), sys.argv[3].split(",")
rng = np.random.default_rng(0)
x = rng.random((steps * 32, 28, 28, 1), dtype=np.float32)
y = rng.integers(0, 10, steps * 32)
indices = np.arange(steps * 32).reshape(steps, 32)
out = {}
for mode in modes:
    keras.utils.set_random_seed(0)
    trainer = Trainer(MNISTModel())
    if mode == "bars":
        runner = StepRunner(trainer.train_step, x, y)
        runner.run(indices[:5])
        started = time.perf_counter()
        runner.run(indices)
        out[mode] = steps / (time.perf_counter() - started)
        continue
    if mode == "xla_whole_loop":
        step, xs, ys = trainer.train_step, tf.constant(x), tf.constant(y)
        @tf.function(jit_compile=True)
        def loop(idx):
            for i in tf.range(tf.shape(idx)[0]):
                step(tf.gather(xs, idx[i]), tf.gather(ys, idx[i]))
        loop(tf.constant(indices[:5], tf.int32))
        started = time.perf_counter()
        loop(tf.constant(indices, tf.int32))
        out[mode] = steps / (time.perf_counter() - started)
        continue
    step = {"eager": trainer.train_step, "graph": tf.function(trainer.train_step),
            "xla": tf.function(trainer.train_step, jit_compile=True)}[mode]
    n = steps if mode != "eager" else max(steps // 3, 20)
    for i in range(5):
        step(tf.constant(x[indices[i]]), tf.constant(y[indices[i]]))
    started = time.perf_counter()
    for i in range(n):
        step(tf.constant(x[indices[i]]), tf.constant(y[indices[i]]))
    out[mode] = n / (time.perf_counter() - started)
print(json.dumps(out))
'''

SCORING = r'''
import sys, time, json
sys.path.insert(0, sys.argv[1])
from grader.tf_runtime import tf
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from grader.checking.bar_scoring import PREDICT_BATCH, initial_weights, lesson_predictions
from grader.mnist import load_data
_, (x, _) = load_data()
weights = initial_weights("cnn", np.random.default_rng(0))

def eager():
    labels = []
    for start in range(0, len(x), PREDICT_BATCH):
        images = tf.constant(np.asarray(x[start:start + PREDICT_BATCH], np.float32) / np.float32(255))
        maps = tf.nn.relu(tf.nn.conv2d(images[..., None], weights[0], 1, "VALID") + weights[1])
        hidden = tf.nn.relu(tf.matmul(tf.reshape(maps, (len(images), -1)), weights[2]) + weights[3])
        labels.append(tf.argmax(tf.matmul(hidden, weights[4]) + weights[5], axis=1).numpy())
    return np.concatenate(labels)

def numpy_blas():
    labels, kernel = [], weights[0].reshape(9, 32)
    for start in range(0, len(x), PREDICT_BATCH):
        images = np.asarray(x[start:start + PREDICT_BATCH], np.float32) / np.float32(255)
        patches = sliding_window_view(images, (3, 3), axis=(1, 2)).reshape(len(images), 26, 26, 9)
        maps = np.maximum(patches @ kernel + weights[1], 0).reshape(len(images), -1)
        labels.append(np.argmax(np.maximum(maps @ weights[2] + weights[3], 0) @ weights[4] + weights[5], axis=1))
    return np.concatenate(labels)

ways = {"eager": eager, "tf_function": lambda: lesson_predictions("cnn", weights, x), "numpy": numpy_blas}
out = {}
for name, way in ways.items():
    way()
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        way()
        best = min(best, time.perf_counter() - started)
    out[name] = best
print(json.dumps(out))
'''


def timed(command: list[str], cwd: Path = REPO, **env: str) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                          env=grading_environment(**env))
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


def script_json(scratch: Path, name: str, source: str, *args: str, **env: str) -> dict:
    """Run ``source`` as a fresh Python process (the repo and ``args`` as argv); its last line as JSON."""
    script = scratch / f"{name}.py"
    script.write_text(source)
    _, done = timed([sys.executable, str(script), str(REPO), *args], **env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-naive", action="store_true", help="do not run the 190 s naive recipe")
    parser.add_argument("--steps", type=int, default=300, help="steps per throughput measurement")
    parser.add_argument("--steps-only", action="store_true", help="only the peak, step and scoring figures")
    parser.add_argument("--threads", nargs="*", default=["2,2", "2,1", "1,1"],
                        help="COURSE_TF_THREADS settings (intra,inter) to measure the bars' step loop with")
    args = parser.parse_args()
    figures: dict = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                                f"Python {platform.python_version()}"}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        if not args.skip_naive and not args.steps_only:
            script = scratch / "naive.py"
            script.write_text(NAIVE)
            figures["naive_recipe_s"], _ = timed([sys.executable, str(script), str(REPO)])
        if not args.steps_only:
            figures.update(grading_times(scratch))
        peak = max(script_json(scratch, "peak", PEAK)["gflops"] for _ in range(2))
        rates = script_json(scratch, "throughput", THROUGHPUT, str(args.steps),
                            "eager,graph,xla,xla_whole_loop,bars")
        threads = {setting: script_json(scratch, "throughput", THROUGHPUT, str(args.steps), "bars",
                                        COURSE_TF_THREADS=setting)["bars"] for setting in args.threads}
        figures["scoring_s"] = {name: round(seconds, 2) for name, seconds in
                                script_json(scratch, "scoring", SCORING).items()}
    figures["step_gflop"] = STEP_FLOPS / 1e9
    figures["peak_gflops_measured"] = round(peak, 1)
    figures["throughput"] = {mode: step_rate(rate, peak) for mode, rate in rates.items()}
    figures["bars_by_threads"] = {setting: step_rate(rate, peak) for setting, rate in threads.items()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2))
    print_table(figures)


def grading_times(scratch: Path) -> dict:
    """Cold full grade (and each bar's seconds in it), the checks without bars, a re-grade."""
    figures: dict = {}
    figures["cold_full_grade_s"], cold = grade("solutions", scratch / "cold" / "cache")
    figures["cold_score"] = cold["score"]
    figures["bar_seconds"] = _bar_seconds(cold)
    figures["cold_isolated_grade_s"], isolated = grade("solutions", scratch / "isolated" / "cache", "--isolate")
    figures["cold_isolated_score"] = isolated["score"]
    figures["isolated_bar_wait_seconds"] = _bar_seconds(isolated)
    figures["fast_checks_s"], _ = grade("solutions", scratch / "fast" / "cache", "-k", "not bar")
    copy = scratch / "student"
    shutil.copytree(REPO / "solutions", copy)
    warm_cache = scratch / "warm" / "cache"
    figures["first_grade_of_copy_s"], _ = grade(copy, warm_cache)
    with open(copy / "convolution.py", "a") as source:
        source.write("\n# an edit to conv2d's file\n")
    figures["regrade_after_conv2d_edit_s"], regrade = grade(copy, warm_cache)
    figures["regrade_score"] = regrade["score"]
    return figures


def _bar_seconds(results: dict) -> dict:
    """Each bar check's seconds in a grading run (ahead runs: only the wait for the run)."""
    return {test["name"]: test["execution_time"] for test in results["tests"] if "test accuracy within" in test["name"]}


def step_rate(rate: float, peak: float) -> dict:
    gflops = rate * STEP_FLOPS / 1e9
    return {"steps_per_s": round(rate, 1), "gflops": round(gflops, 1), "share_of_peak": round(gflops / peak, 3)}


def print_table(figures: dict) -> None:
    print(f"\n{figures['machine']}; load average {os.getloadavg()[0]:.1f} at the end")
    if "cold_full_grade_s" in figures:
        print_grading(figures)
    print_steps(figures)
    print(f"\nwritten to {RESULTS.relative_to(REPO)}")


def print_grading(figures: dict) -> None:
    naive = figures.get("naive_recipe_s")
    rows = [
        ("naive recipe (5 CNN + 5 Keras epochs)", naive, "reference"),
        ("full grader on solutions, cold cache", figures["cold_full_grade_s"],
         f"target <= 60 s{f' and <= {naive / 6:.0f} s (naive/6)' if naive else ''}"),
        ("full grader on solutions, cold, --isolate", figures.get("cold_isolated_grade_s"),
         "bars ahead, in their own workers"),
        ("all checks except the two bars", figures["fast_checks_s"], "target <= 10 s"),
        ("re-grade after editing conv2d (warm)", figures["regrade_after_conv2d_edit_s"], "target <= 10 s"),
    ]
    rows += [(f"  bar: {name.split(':')[0]}", seconds, "in the cold grade")
             for name, seconds in figures["bar_seconds"].items()]
    print(f"{'measurement':45} {'seconds':>8}  note")
    for name, seconds, note in rows:
        print(f"{name:45} {seconds if seconds is None else round(seconds, 1)!s:>8}  {note}")


def print_steps(figures: dict) -> None:
    peak = figures["peak_gflops_measured"]
    print(f"\nmeasured peak: {peak} GFLOP/s (4096x4096 fp32 matmul, TensorFlow, all cores, best of 6)")
    print(f"CNN training step (batch 32): {figures['step_gflop']:.3f} GFLOP")
    names = {"eager": "eager", "graph": "tf.function", "xla": "XLA, one call per batch",
             "xla_whole_loop": "XLA, whole loop in one call", "bars": "bars: graph loop of XLA steps"}
    for mode, entry in figures["throughput"].items():
        print(f"  {names[mode]:32} {entry['steps_per_s']:7.1f} steps/s {entry['gflops']:7.1f} GFLOP/s "
              f"{entry['share_of_peak']:6.1%} of peak")
    for setting, entry in figures["bars_by_threads"].items():
        print(f"  {'bars, threads intra,inter=' + setting:32} {entry['steps_per_s']:7.1f} steps/s "
              f"{entry['gflops']:7.1f} GFLOP/s {entry['share_of_peak']:6.1%} of peak")
    print("forward pass over the 10,000 test images (one bar evaluation): " +
          ", ".join(f"{name} {seconds:.2f} s" for name, seconds in figures["scoring_s"].items()))


if __name__ == "__main__":
    main()
