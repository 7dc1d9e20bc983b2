"""Probes for the accuracy bars: train on MNIST in chunks, report test predictions.

The grader sends the training set and the test IMAGES (in an order it keeps secret),
never the test labels: a probe can only report predictions, and the grader scores
them. Preprocessing is the grader's own (pixels / 255 as float32), so the bar measures
the model and the training step, not the student's preprocessing.

State between calls lives in ``ctx.state["bar"]``:
``*_start`` builds the run, each ``advance`` trains ``steps`` more batches of 32 and
returns ``{"steps": total, "predictions": (10000,) uint8, "finite": bool}``.
"""

from __future__ import annotations

import numpy as np

from grader.probes import ProbeContext, probe
from grader.tf_runtime import tf

BATCH_SIZE = 32
PREDICT_BATCH = 1000


class EpochSampler:
    """Indices of the next batches, reshuffling at every epoch (seeded)."""

    def __init__(self, size: int, seed: int):
        self.size, self.rng = size, np.random.default_rng(seed)
        self.order, self.position = self.rng.permutation(size), 0

    def take(self, count: int) -> np.ndarray:
        parts = []
        while count > 0:
            if self.position == self.size:
                self.order, self.position = self.rng.permutation(self.size), 0
            chunk = self.order[self.position : self.position + count]
            self.position += len(chunk)
            count -= len(chunk)
            parts.append(chunk)
        return np.concatenate(parts)


def _images(x: np.ndarray, channel_axis: bool) -> np.ndarray:
    """The grader's preprocessing: uint8 (N, 28, 28) -> float32 in [0, 1]."""
    images = np.asarray(x, np.float32) / np.float32(255.0)
    return images[..., None] if channel_axis else images


def reference_cnn():
    """The lesson's CNN, built with Keras's functional API and compiled (grader code).

    Used only to diagnose a failed bar: Keras's own ``train_on_batch`` trains it, so the
    grader never ships a GradientTape step a student could copy.
    """
    import keras

    layers = keras.layers
    inputs = keras.Input((28, 28, 1))
    features = layers.Flatten()(layers.Conv2D(filters=32, kernel_size=(3, 3), activation="relu")(inputs))
    hidden = layers.Dense(units=128, activation="relu")(features)
    model = keras.Model(inputs, layers.Dense(units=10, activation="softmax")(hidden))
    model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.SparseCategoricalCrossentropy())
    return model


def reference_step(model):
    """Keras's built-in training step on ``model`` (compiled here if needed)."""
    import keras

    model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.SparseCategoricalCrossentropy())
    return lambda inputs, labels: model.train_on_batch(inputs, labels)


class CompiledStep:
    """A train step compiled with XLA, else with ``tf.function``, else run eagerly.

    The first call tries each way in turn (a step that calls ``.numpy()`` cannot be
    traced, say); the first that works is kept. Only the successful call trains.
    """

    def __init__(self, step):
        self.candidates = [("xla", tf.function(step, jit_compile=True)), ("graph", tf.function(step)),
                           ("eager", step)]
        self.mode = None

    def __call__(self, inputs, labels):
        while self.mode is None:
            name, function = self.candidates[0]
            if len(self.candidates) == 1:
                self.mode = name
                break
            try:
                result = function(inputs, labels)
            except Exception:  # noqa: BLE001 - cannot compile this way: try the next
                self.candidates.pop(0)
                continue
            self.mode = name
            return result
        return dict(self.candidates)[self.mode](inputs, labels)


@probe
def cnn_start(ctx: ProbeContext, x_train, y_train, x_test, seed: int, model_from: str, trainer_from: str) -> dict:
    """Build the CNN run; ``*_from`` is "student" or "reference" (diagnosis)."""
    import keras

    keras.utils.set_random_seed(seed)
    model = ctx.module("model").MNISTModel() if model_from == "student" else reference_cnn()
    trainer = None
    if trainer_from == "student":
        trainer = ctx.module("training").Trainer(model)
        step = CompiledStep(trainer.train_step)
    else:
        model(np.zeros((1, 28, 28, 1), np.float32))
        step = reference_step(model)
    ctx.state["bar"] = {
        # The run keeps the Trainer alive: a train_step decorated with @tf.function (the
        # lesson's style) holds its instance only weakly, so `self` would become None.
        "kind": "cnn", "model": model, "step": step, "trainer": trainer,
        "x": _images(x_train, True), "y": np.asarray(y_train, np.int64),
        "x_test": _images(x_test, True), "sampler": EpochSampler(len(y_train), seed), "steps": 0,
    }
    return {"ok": True}


@probe
def keras_start(ctx: ProbeContext, x_train, y_train, x_test, seed: int) -> dict:
    """Build the student's compiled Keras model for its bar."""
    import keras

    keras.utils.set_random_seed(seed)
    model = ctx.module("keras_model").build_keras_model()
    ctx.state["bar"] = {
        "kind": "keras", "model": model, "x": _images(x_train, False), "y": np.asarray(y_train, np.int64),
        "x_test": _images(x_test, False), "sampler": EpochSampler(len(y_train), seed), "steps": 0,
    }
    return {"ok": True}


@probe
def advance(ctx: ProbeContext, steps: int) -> dict:
    """Train ``steps`` more batches, then predict the test images."""
    run = ctx.state.get("bar")
    if run is None:
        raise RuntimeError("no training run in progress (the worker was restarted)")
    indices = run["sampler"].take(steps * BATCH_SIZE)
    if run["kind"] == "cnn":
        for start in range(0, len(indices), BATCH_SIZE):
            batch = indices[start : start + BATCH_SIZE]
            run["step"](tf.constant(run["x"][batch]), tf.constant(run["y"][batch]))
    else:
        run["model"].fit(run["x"][indices], run["y"][indices], batch_size=BATCH_SIZE,
                         epochs=1, shuffle=False, verbose=0)
    run["steps"] += steps
    probabilities = np.concatenate([
        np.asarray(run["model"](run["x_test"][i : i + PREDICT_BATCH], training=False))
        for i in range(0, len(run["x_test"]), PREDICT_BATCH)
    ])
    return {
        "steps": run["steps"],
        "predictions": probabilities.argmax(axis=1).astype(np.uint8),
        "finite": bool(np.isfinite(probabilities).all()),
        "dependencies": _loaded_student_files(ctx),
    }


def _loaded_student_files(ctx: ProbeContext) -> list[str]:
    """Names of the target's files imported so far (what the run may depend on)."""
    import sys

    folder = str(ctx.target.folder)
    return sorted(
        module.__file__.rsplit("/", 1)[-1]
        for module in list(sys.modules.values())
        if getattr(module, "__file__", None) and str(module.__file__).startswith(folder + "/")
    )
