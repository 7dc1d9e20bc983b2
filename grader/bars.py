"""The accuracy bars: train on MNIST through the gateway, score predictions here.

``run_bar`` drives a training run chunk by chunk (``grader.probes.bars``), computes the
test accuracy itself from the predictions after each chunk, and stops as soon as the
bar is met, or when the lesson's budget of 5 epochs at batch 32 is spent, or when the
run is hopeless (below ``HOPELESS_ACCURACY`` after ``HOPELESS_AFTER_EPOCHS`` epochs: a
correct model is past 97% after one epoch). Test labels never leave this process.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from grader.mnist import load_data
from grader.plain import ErrorRecord
from grader.train_cache import TrainCache

STEPS_PER_EPOCH = 60000 // 32  # 1875 batches of 32
MAX_EPOCHS = 5
#: When to measure test accuracy, in epochs.
EVALUATE_AT = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0)
HOPELESS_AFTER_EPOCHS, HOPELESS_ACCURACY = 2.0, 0.90
CNN_BAR, KERAS_BAR = 0.98, 0.97


@dataclass
class BarOutcome:
    """What one training run reached."""

    bar: float
    passed: bool = False
    accuracy: float = 0.0  # at the last evaluation
    epochs: float = 0.0
    curve: list = field(default_factory=list)  # [[epochs, accuracy], ...]
    seconds: float = 0.0
    error: str | None = None  # a student exception, one line plus traceback
    not_implemented: bool = False
    stopped: str = ""  # "bar met", "budget spent", "hopeless", "non-finite output", "error"
    cached: bool = False

    def summary(self) -> str:
        if self.error:
            return self.error
        where = f"after {self.epochs:g} epochs" if self.epochs else "before training"
        return f"test accuracy {self.accuracy:.2%} {where} (bar {self.bar:.0%}; {self.stopped})"


def _error_text(record: ErrorRecord) -> str:
    return f"{record.one_line()}\n{record.traceback.rstrip()}"


def run_bar(gateway, kind: str, seed: int, *, model_from: str = "student",
            trainer_from: str = "student", cache: TrainCache | None = None,
            student_folder: Path | None = None) -> BarOutcome:
    """Train ``kind`` ("cnn" or "keras") until its bar is met; see the module docstring."""
    bar = CNN_BAR if kind == "cnn" else KERAS_BAR
    modules = ("keras_model",) if kind == "keras" else tuple(
        name for name, source in (("model", model_from), ("training", trainer_from)) if source == "student")
    settings = {"kind": kind, "seed": seed, "model": model_from, "trainer": trainer_from, "bar": bar,
                "evaluate_at": EVALUATE_AT, "max_epochs": MAX_EPOCHS}
    if cache is None:
        return _train(gateway, kind, bar, seed, model_from, trainer_from)[0]
    key = cache.key(settings, student_folder, modules)
    with cache.claim(key):
        if (hit := cache.load(key, student_folder)) is not None:
            return BarOutcome(**{**hit, "cached": True})
        outcome, dependencies = _train(gateway, kind, bar, seed, model_from, trainer_from)
        if dependencies is not None:
            cache.store(key, student_folder, asdict(outcome), dependencies)
    return outcome


def _train(gateway, kind, bar, seed, model_from, trainer_from) -> tuple[BarOutcome, list | None]:
    started = time.perf_counter()
    outcome = BarOutcome(bar=bar)
    (x_train, y_train), (x_test, y_test) = load_data()
    secret_order = np.random.default_rng().permutation(len(y_test))
    labels = y_test[secret_order]
    if kind == "cnn":
        reply = gateway.run("bars.cnn_start", x_train, y_train, x_test[secret_order], seed, model_from, trainer_from)
    else:
        reply = gateway.run("bars.keras_start", x_train, y_train, x_test[secret_order], seed)
    dependencies = None
    done = 0
    for epochs in ([] if isinstance(reply, ErrorRecord) else EVALUATE_AT):
        target = round(epochs * STEPS_PER_EPOCH)
        reply = gateway.run("bars.advance", target - done, timeout=600)
        if isinstance(reply, ErrorRecord):
            break
        done = reply["steps"]
        dependencies = reply["dependencies"]
        accuracy = float(np.mean(reply["predictions"] == labels))
        outcome.accuracy, outcome.epochs = accuracy, epochs
        outcome.curve.append([epochs, round(accuracy, 5)])
        if accuracy >= bar:
            outcome.passed, outcome.stopped = True, "bar met"
            break
        if not reply["finite"]:
            outcome.stopped = "non-finite output"
            break
        if epochs >= HOPELESS_AFTER_EPOCHS and accuracy < HOPELESS_ACCURACY:
            outcome.stopped = "hopeless"
            break
    else:
        outcome.stopped = outcome.stopped or "budget spent"
    if isinstance(reply, ErrorRecord):
        outcome.error, outcome.stopped = _error_text(reply), "error"
        outcome.not_implemented = reply.not_implemented
        dependencies = None  # never cache a crash: it may be the worker, not the code
    outcome.seconds = round(time.perf_counter() - started, 2)
    return outcome, dependencies
