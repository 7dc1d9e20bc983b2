"""A class whose model files differ mostly in formatting: trainings run, submissions per hour.

Builds a synthetic class of 40 students from ``solutions/`` in a temporary folder:

- 15 **formatting variants** of the reference: ``model.py``, ``training.py``,
  ``keras_model.py`` (and ``activations.py``) rewritten by ``tests/corpus/reformat.py``
  (comments reworded, added or dropped, blank lines, spacing, reflowed calls, tabs or
  two-space indentation), one layout per student;
- 15 **small real variations**, each another token stream of a correct module (the
  correct-variants corpus's Keras ``add()`` model, XLA trainer and quickstart, and
  spellings such as ``Dense(units=128)``, ``Conv2D(32, (3, 3))``, ``Adam(learning_rate=1e-3)``
  or another learning rate): each bar they touch trains once and passes or fails honestly;
- 10 **broken**: untouched stubs, syntax errors, wrong layer shapes, missing modules.

Grades it with the real ``course grade --workers 2`` and prints: students, the distinct
inputs of the bars under the normalized key and under the raw-bytes key (one training
each at most: the runs the raw key would add), the cache entries the run created and how
many of them trained (a learning curve), wall time and submissions per hour. ``--raw-key``
grades with ``COURSE_RAW_BAR_KEY=1`` (the old raw-bytes key) instead, to measure the
comparison rather than predict it. Writes ``bench/results/formatting_class.json``.
Usage: ``python bench/formatting_class.py [--raw-key] [--keep DIR]``.
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

from grader.checking.normalized_source import RAW_KEY_ENV, staged_files  # noqa: E402
from grader.paths import EXERCISE_MODULES, EXERCISES_DIR, SOLUTIONS_DIR  # noqa: E402
from tests.corpus.build import apply_replacements, changed_sources  # noqa: E402
from tests.corpus.correct_variants import KERAS_ADD, QUICKSTART, TRAINER_XLA  # noqa: E402
from tests.corpus.mistakes import MISTAKES  # noqa: E402
from tests.corpus.reformat import reformat  # noqa: E402

RESULTS = REPO / "bench" / "results" / "formatting_class.json"
#: The modules each accuracy bar runs (``grader.checking.bar_scoring.bar_modules``).
BARS = {"model bar": "model", "training bar": "training", "keras bar": "keras_model"}

_CONV = 'self.conv1 = keras.layers.Conv2D(32, 3, activation="relu")'
_DENSE = 'keras.layers.Dense(128, activation="relu")'
_ADAM = "self.optimizer = keras.optimizers.Adam()"
_OPTIMIZER = 'optimizer="adam",'
#: One-module token changes that keep the module correct: (module, ((old, new), ...)).
SPELLINGS = (
    ("model", ((_CONV, 'self.conv1 = keras.layers.Conv2D(filters=32, kernel_size=3, activation="relu")'),)),
    ("model", ((_CONV, 'self.conv1 = keras.layers.Conv2D(32, (3, 3), activation="relu")'),)),
    ("model", ((_CONV, "self.conv1 = keras.layers.Conv2D(32, 3, activation=keras.activations.relu)"),)),
    ("model", (("self.dense1 = " + _DENSE, 'self.dense1 = keras.layers.Dense(units=128, activation="relu")'),)),
    ("model", (("        x = self.conv1(x)\n        x = self.flatten(x)\n        x = self.dense1(x)\n"
                "        return self.dense2(x)\n",
                "        return self.dense2(self.dense1(self.flatten(self.conv1(x))))\n"),)),
    ("training", ((_ADAM, "self.optimizer = keras.optimizers.Adam(learning_rate=1e-3)"),)),
    ("training", ((_ADAM, "self.optimizer = keras.optimizers.Adam(learning_rate=0.002)"),)),
    ("keras_model", ((_OPTIMIZER, "optimizer=keras.optimizers.Adam(learning_rate=0.001),"),)),
    ("keras_model", ((_OPTIMIZER, "optimizer=keras.optimizers.Adam(learning_rate=0.002),"),)),
    ("keras_model", (("keras.layers.Dropout(0.2)", "keras.layers.Dropout(rate=0.2)"),)),
    ("keras_model", (("            " + _DENSE, '            keras.layers.Dense(units=128, activation="relu")'),)),
    ("keras_model", (('        metrics=["accuracy"],', '        metrics=["sparse_categorical_accuracy"],'),)),
)
#: Broken submissions from the mistakes corpus (wrong layer shapes: the bar says which).
BROKEN_MISTAKES = ("model_64_filters", "model_kernel_5")


def reference() -> dict[str, str]:
    return {name: (SOLUTIONS_DIR / f"{name}.py").read_text() for name in EXERCISE_MODULES}


def write_student(submissions: Path, ident: str, modules: dict[str, str | None]) -> None:
    """A student folder holding ``modules`` (a module mapped to None is left out)."""
    (submissions / ident).mkdir(parents=True)
    for name, text in modules.items():
        if text is not None:
            (submissions / ident / f"{name}.py").write_text(text)


def build_class(submissions: Path) -> dict[str, str]:
    """Write the 40 students; return ``{id: category}``."""
    base, kinds = reference(), {}
    for number in range(15):
        layout = {name: reformat(base[name], number) for name in ("model", "training", "keras_model", "activations")}
        kinds[f"layout{number:02d}"] = "formatting"
        write_student(submissions, f"layout{number:02d}", {**base, **layout})
    real = [changed_sources(variant) for variant in (KERAS_ADD, TRAINER_XLA, QUICKSTART)]
    real += [{module: apply_replacements(base[module], changes, module)} for module, changes in SPELLINGS]
    for number, changes in enumerate(real):
        kinds[f"variant{number:02d}"] = "real variation"
        write_student(submissions, f"variant{number:02d}", {**base, **changes})
    stubs = {name: (EXERCISES_DIR / f"{name}.py").read_text() for name in EXERCISE_MODULES}
    mistakes = {mistake.id: mistake for mistake in MISTAKES}
    broken = [stubs, stubs, {**base, "model": stubs["model"], "training": stubs["training"]}]
    broken += [{**base, name: base[name] + "\nthis line is not Python\n"} for name in BARS.values()]
    broken += [{**base, **changed_sources(mistakes[ident])} for ident in BROKEN_MISTAKES]
    broken += [{**base, "keras_model": base["keras_model"].replace("Dense(128,", "Dense(64,")}]
    broken += [{"activations": base["activations"]}]  # no bar module at all
    for number, modules in enumerate(broken):
        kinds[f"broken{number:02d}"] = "broken"
        write_student(submissions, f"broken{number:02d}", modules)
    assert len(kinds) == 40, len(kinds)
    return kinds


def distinct_bar_inputs(submissions: Path, normalize: bool) -> int:
    """Distinct (bar, staged bytes) among the students: at most one training each."""
    inputs = set()
    for student in sorted(submissions.iterdir()):
        for bar, module in BARS.items():
            inputs.add((bar, staged_files(student, (module,), normalize=normalize).files.get(f"{module}.py")))
    return len(inputs)


def cache_entries(cache: Path) -> tuple[int, int]:
    """Entries in the training cache, and how many of them trained (a learning curve)."""
    outcomes = [json.loads(path.read_text())["outcome"] for path in sorted(cache.glob("*.json"))]
    return len(outcomes), sum(bool(outcome.get("curve")) for outcome in outcomes)


def mean_score(records: dict[str, dict], kinds: dict[str, str], kind: str) -> float:
    scores = [records[ident]["score"] for ident in kinds if kinds[ident] == kind]
    return round(sum(scores) / len(scores), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-key", action="store_true", help=f"grade with {RAW_KEY_ENV}=1 (raw-bytes key)")
    parser.add_argument("--keep", type=Path, help="build and grade the class in this folder (kept)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="formatting-class-"))
    try:
        submissions, out = root / "submissions", root / "out"
        kinds = build_class(submissions)
        env = {**os.environ, RAW_KEY_ENV: "1" if args.raw_key else "0"}
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grader.cli", "grade", str(submissions), "--out", str(out),
                        "--workers", "2"], cwd=REPO, env=env, check=True, capture_output=True)
        seconds = time.perf_counter() - started
        entries, trained = cache_entries(out / ".train_cache")
        records = {ident: json.loads((out / ident / "grading.json").read_text()) for ident in kinds}
        report = {
            "students": len(kinds),
            "key": "raw bytes" if args.raw_key else "normalized",
            "distinct bar inputs (normalized key)": distinct_bar_inputs(submissions, True),
            "distinct bar inputs (raw-bytes key)": distinct_bar_inputs(submissions, False),
            "cache entries created": entries,
            "of which trained": trained,
            "wall seconds": round(seconds, 1),
            "submissions per hour": round(len(kinds) / seconds * 3600, 1),
            "statuses": sorted({record["status"] for record in records.values()}),
            "mean score per category": {kind: mean_score(records, kinds, kind) for kind in sorted(set(kinds.values()))},
            "machine": f"{platform.node()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the end",
            "date": time.strftime("%Y-%m-%d"),
        }
        for name, value in report.items():
            print(f"{name:40} {value}")
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
