"""The accuracy bars: train on MNIST through a gateway, score the trained weights here.

``run_bar`` draws the initial weights of the lesson's layers from a seed the submission
cannot know, sends them with the training set to a training run (``grader.probes.bars``),
and after each chunk of training gets back only the trained weights. It computes the
test predictions itself, with its own forward pass of the lesson's network
(``lesson_predictions``), and stops as soon as the bar is met, or when the lesson's
budget of 5 epochs at batch 32 is spent, or when the run is hopeless (below
``HOPELESS_ACCURACY`` after ``HOPELESS_AFTER_EPOCHS`` epochs: a correct model is past 97%
after one epoch). No test image or label ever leaves this process, and the student's
``call()`` never decides a bar: only weights that really classify MNIST pass.

Each run gets a gateway from ``open_gateway(files)``, ``files`` being what
``normalized_source.staged_files`` makes of the run's modules (file name -> bytes: each
module's canonical copy, or its raw bytes): under ``--isolate`` a fresh worker whose
staged submission holds exactly those bytes and nothing else, which are also exactly
what the training cache is keyed by (``grader.checking.train_cache``); in-process the
student's own files run. A student exception's traceback from a canonical copy is made
to cite the student's own lines again (``cite_own_lines``), after the cache, so a
shared entry shows every student their own line numbers.

The outcome keeps the grader's own measurements for the feedback page's pictures: the
accuracy at every evaluation (``curve``) and the last evaluation's 10,000 test
predictions (``predictions``, one digit per test image), cached with the rest.
"""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import ContextManager

import numpy as np

from grader.checking.normalized_source import cite_own_lines, staged_files
from grader.checking.train_cache import TrainCache
from grader.lesson_networks import WEIGHT_SHAPES
from grader.mnist import load_data
from grader.plain import ErrorRecord

STEPS_PER_EPOCH = 60000 // 32  # 1875 batches of 32
MAX_EPOCHS = 5
#: When to measure test accuracy, in epochs.
EVALUATE_AT = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0)
HOPELESS_AFTER_EPOCHS, HOPELESS_ACCURACY = 2.0, 0.90
CNN_BAR, KERAS_BAR = 0.98, 0.97
#: How a training run may say its steps ran (``grader.probes.step_loop``'s modes, or Keras's ``fit``).
STEP_MODES = ("xla-loop", "xla", "graph", "eager", "fit")
#: Test images per batch of the grader's forward pass (a 26x26x32 map is 86 KB each).
PREDICT_BATCH = 2000


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
    stopped: str = ""  # "bar met", "budget spent", "hopeless", "non-finite weights", "error"
    cached: bool = False
    predictions: str = ""  # the last evaluation's test predictions, one digit "0".."9" per test image
    mode: str = ""  # how the worker says the steps ran (STEP_MODES): information, never scored

    @classmethod
    def replayed(cls, entry: dict) -> "BarOutcome":
        """The outcome of a cache entry (``cached``); fields it lacks keep their defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{**{key: value for key, value in entry.items() if key in known}, "cached": True})

    def summary(self) -> str:
        if self.error:
            return self.error
        where = f"after {_epochs(self.epochs)}" if self.epochs else "before training"
        return f"test accuracy {self.accuracy:.2%} {where} (bar {self.bar:.0%}; {self.stopped})"


def _epochs(count: float) -> str:
    return f"{count:g} epoch" + ("" if count == 1 else "s")


#: The runs the accuracy-bar checks make (``grader.test_accuracy_bars``), by the exercise
#: each decides: ``(kind, model_from, trainer_from)``, one student module per run.
BAR_RUNS = {"training": ("cnn", "reference", "student"), "model": ("cnn", "student", "reference"),
            "keras_model": ("keras", "student", "student")}


def bar_modules(kind: str, model_from: str = "student", trainer_from: str = "student") -> tuple[str, ...]:
    """The student modules a run uses: what its worker holds and its cache key covers."""
    if kind == "keras":
        return ("keras_model",)
    return tuple(name for name, source in (("model", model_from), ("training", trainer_from))
                 if source == "student")


def run_settings(kind: str, seed: int, model_from: str = "student", trainer_from: str = "student") -> dict:
    """Everything but the code that a bar run's outcome depends on (part of its cache key)."""
    return {"kind": kind, "seed": seed, "model": model_from, "trainer": trainer_from,
            "bar": CNN_BAR if kind == "cnn" else KERAS_BAR, "evaluate_at": EVALUATE_AT, "max_epochs": MAX_EPOCHS}


def run_key(cache: TrainCache, kind: str, seed: int, student_folder: Path, model_from: str = "student",
            trainer_from: str = "student") -> str:
    """The training cache's key of one bar run of the code in ``student_folder`` (what
    ``run_bar`` keys it by: the bytes its worker would be given)."""
    modules = bar_modules(kind, model_from, trainer_from)
    return cache.key(run_settings(kind, seed, model_from, trainer_from),
                     staged_files(student_folder, modules).files, modules)


def initial_weights(kind: str, rng: np.random.Generator) -> list[np.ndarray]:
    """Keras's default initialisation of the lesson's layers: Glorot-uniform kernels, zero biases."""
    weights = []
    for shape in WEIGHT_SHAPES[kind]:
        if len(shape) == 1:
            weights.append(np.zeros(shape, np.float32))
            continue
        receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
        fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rng.uniform(-limit, limit, shape).astype(np.float32))
    return weights


def lesson_predictions(kind: str, weights: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """The lesson's network given ``weights``, in float32: uint8 (N, 28, 28) -> (N,) labels.

    CNN: Conv2D(32, 3, valid) + relu -> Flatten -> Dense(128) + relu -> Dense(10);
    MLP: Flatten -> Dense(128) + relu -> Dense(10) (dropout is off at inference). The
    final softmax is left out: it does not change the argmax. Runs as one traced
    ``tf.function`` per kind, ``PREDICT_BATCH`` images per call (a third less CPU than
    eager ops, half of NumPy's; ``bench/grading_speed.py`` measures the three).
    """
    from grader.tf_runtime import tf

    forward = _forward(kind)
    weights = [tf.constant(w, tf.float32) for w in weights]
    return np.concatenate([forward(tf.constant(x[start : start + PREDICT_BATCH]), *weights).numpy()
                           for start in range(0, len(x), PREDICT_BATCH)]).astype(np.uint8)


@functools.cache
def _forward(kind: str):
    """The traced forward pass of ``lesson_predictions``: uint8 images, weights -> int64 labels."""
    from grader.tf_runtime import tf

    def labels(images, *weights):
        images = tf.cast(images, tf.float32) / 255.0
        if kind == "cnn":
            kernel, bias, *dense = weights
            maps = tf.nn.relu(tf.nn.conv2d(images[..., None], kernel, 1, "VALID") + bias)
            features = tf.reshape(maps, (-1, WEIGHT_SHAPES["cnn"][2][0]))
        else:
            dense, features = weights, tf.reshape(images, (-1, 28 * 28))
        hidden = tf.nn.relu(tf.matmul(features, dense[0]) + dense[1])
        return tf.argmax(tf.matmul(hidden, dense[2]) + dense[3], axis=1)

    return tf.function(labels, reduce_retracing=True)


def digits(labels: np.ndarray) -> str:
    """Labels 0..9 as one string of digits (10,000 test predictions: 10 KB in a cache entry)."""
    return (np.asarray(labels, np.uint8) + ord("0")).tobytes().decode("ascii")


def checked_weights(kind: str, reply: object) -> list[np.ndarray] | str:
    """The weights of an ``advance`` reply as float32 arrays, or why they cannot be scored."""
    weights = reply.get("weights") if isinstance(reply, dict) else None
    if not isinstance(weights, list) or not all(isinstance(w, np.ndarray) for w in weights):
        return "the training run did not return the layers' weights as arrays"
    shapes = [w.shape for w in weights]
    if shapes != list(WEIGHT_SHAPES[kind]):
        return f"the trained weights have shapes {shapes}, not the lesson's {list(WEIGHT_SHAPES[kind])}"
    if not all(w.dtype.kind == "f" for w in weights):
        return "the trained weights are not floating-point numbers"
    return [w.astype(np.float32) for w in weights]


def _error_text(record: ErrorRecord) -> str:
    return f"{record.one_line()}\n{record.traceback.rstrip()}"


#: ``open_gateway(files)``: the gateway a run trains through, given the files it may read.
GatewayOpener = Callable[[dict[str, bytes]], ContextManager]
#: ``progress(text)``: one line for the student while a bar trains (a no-op by default).
Progress = Callable[[str], None]


def _silent(text: str) -> None:
    pass


def run_bar(open_gateway: GatewayOpener, kind: str, seed: int, *, model_from: str = "student",
            trainer_from: str = "student", cache: TrainCache | None = None,
            student_folder: Path | None = None, progress: Progress = _silent) -> BarOutcome:
    """Train ``kind`` ("cnn" or "keras") until its bar is met; see the module docstring.

    ``progress`` hears that training starts (before the first epoch) and the test
    accuracy at every evaluation, or that a cached run of the same code is reused.
    """
    bar = CNN_BAR if kind == "cnn" else KERAS_BAR
    modules = bar_modules(kind, model_from, trainer_from)
    staged = staged_files(student_folder, modules)
    settings = run_settings(kind, seed, model_from, trainer_from)

    def train() -> tuple[BarOutcome, bool]:
        with open_gateway(staged.files) as gateway:
            return _train(gateway, kind, bar, seed, model_from, trainer_from, progress)

    outcome = train()[0] if cache is None else _cached(cache, cache.key(settings, staged.files, modules),
                                                       train, progress)
    if outcome.error:
        outcome.error = cite_own_lines(outcome.error, staged.copies, student_folder)
    return outcome


def _cached(cache: TrainCache, key: str, train: Callable[[], tuple[BarOutcome, bool]],
            progress: Progress) -> BarOutcome:
    """The cached outcome of ``key``, or ``train()``'s, stored when it may be."""
    with cache.claim(key):
        if (hit := cache.load(key)) is not None:
            if not hit.get("not_implemented"):
                progress("unchanged code: the cached run of it is reused")
            return BarOutcome.replayed(hit)
        outcome, cacheable = train()
        if cacheable:
            cache.store(key, asdict(outcome))
    return outcome


def _train(gateway, kind, bar, seed, model_from, trainer_from, progress: Progress) -> tuple[BarOutcome, bool]:
    """One training run; also whether its outcome may be cached (not after an exception,
    which may be the worker's limits rather than the code, unless it is a stub's)."""
    started = time.perf_counter()
    outcome = BarOutcome(bar=bar)
    (x_train, y_train), (x_test, y_test) = load_data()
    weights = initial_weights(kind, np.random.default_rng(secrets.randbits(128)))
    if kind == "cnn":
        reply = gateway.call("bars.cnn_start", x_train, y_train, weights, seed, model_from, trainer_from)
    else:
        reply = gateway.call("bars.keras_start", x_train, y_train, weights, seed)
    done = 0
    if not isinstance(reply, ErrorRecord):  # the model and trainer exist: a stub never gets here
        progress(f"training for the {bar:.0%} bar, up to {MAX_EPOCHS} epochs (about a minute on a laptop)...")
    for epochs in ([] if isinstance(reply, ErrorRecord) else EVALUATE_AT):
        target = round(epochs * STEPS_PER_EPOCH)
        reply = gateway.call("bars.advance", target - done, timeout=600)
        if isinstance(reply, ErrorRecord):
            break
        done = target
        outcome.mode = reply.get("mode") if isinstance(reply, dict) and reply.get("mode") in STEP_MODES else "?"
        trained = checked_weights(kind, reply)
        if isinstance(trained, str):
            outcome.error, outcome.stopped = trained, "error"
            break
        if not all(np.isfinite(w).all() for w in trained):
            outcome.stopped = "non-finite weights"
            break
        predicted = lesson_predictions(kind, trained, x_test)
        accuracy = float(np.mean(predicted == y_test))
        outcome.accuracy, outcome.epochs = accuracy, epochs
        outcome.predictions = digits(predicted)
        outcome.curve.append([epochs, round(accuracy, 5)])
        progress(f"{accuracy:.2%} test accuracy after {_epochs(epochs)}")
        if accuracy >= bar:
            outcome.passed, outcome.stopped = True, "bar met"
            break
        if epochs >= HOPELESS_AFTER_EPOCHS and accuracy < HOPELESS_ACCURACY:
            outcome.stopped = "hopeless"
            break
    else:
        outcome.stopped = outcome.stopped or "budget spent"
    cacheable = True
    if isinstance(reply, ErrorRecord):
        outcome.error, outcome.stopped = _error_text(reply), "error"
        outcome.not_implemented = cacheable = reply.not_implemented
    outcome.seconds = round(time.perf_counter() - started, 2)
    return outcome, cacheable
