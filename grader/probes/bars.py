"""Probes for the accuracy bars: train on MNIST in chunks, report the trained weights.

The grader sends the training set and the initial weights of the lesson's layers (drawn
from a seed the submission cannot know); never a test image or label. ``*_start``
builds the model, puts those weights into its Conv2D/Dense layers and sets up the
training step; each ``advance`` trains ``steps`` more batches of 32 and returns
``{"steps": total, "mode": how the steps ran, "weights": [kernel, bias, ...]}`` (the mode,
``grader.probes.step_loop``'s or ``"fit"``, is information for the bench, never scored). The grader scores the weights with
its own forward pass of the lesson's network (``grader.checking.bar_scoring``), so the student's
``call()`` never decides a bar, and a forged reply can pass only by carrying weights
that really classify MNIST. Preprocessing is the grader's own (pixels / 255 as float32);
the training set is staged once as tensors and each batch gathered from them by index.

State between calls lives in ``ctx.state["bar"]``.
"""

from __future__ import annotations

import numpy as np

from grader.lesson_networks import WEIGHT_SHAPES
from grader.probes import ProbeContext, probe
from grader.probes.step_loop import BATCH_SIZE, StepRunner
from grader.tf_runtime import tf

#: Batches per call of Keras's compiled training loop in the Keras bar.
FIT_STEPS_PER_EXECUTION = 64


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
    """The lesson's CNN, built with Keras's functional API and compiled (grader code), which
    the training bar trains with the student's step. The grader's own step is Keras's
    (``reference_step``), so it never ships a GradientTape step a student could copy.
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
    """Keras's built-in training step on ``model``, compiled here with Adam: ``model.train_step``,
    what ``train_on_batch`` and ``fit`` run on each batch (so the grader ships no GradientTape step)."""
    import keras

    model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.SparseCategoricalCrossentropy())
    return lambda inputs, labels: model.train_step((inputs, labels))


#: The weight shapes of the lesson's trainable layers, in order (kernel, bias per layer).
def lesson_variables(model, kind: str) -> list:
    """The kernel and bias variables of the model's Conv2D and Dense layers, in order.

    ``MNISTModel``'s ``conv1``, ``dense1``, ``dense2`` when it has them, else every
    Conv2D/Dense layer found in the model. ``ValueError`` (naming the shapes) unless they
    are exactly the lesson's (``WEIGHT_SHAPES``).
    """
    import keras

    names = ("conv1", "dense1", "dense2")
    if kind == "cnn" and all(isinstance(getattr(model, name, None), keras.layers.Layer) for name in names):
        layers = [getattr(model, name) for name in names]
    else:
        layers = [layer for layer in model._flatten_layers(include_self=False)
                  if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
    variables = [weight for layer in layers for weight in (getattr(layer, "kernel", None),
                                                             getattr(layer, "bias", None))]
    shapes = [tuple(variable.shape) if variable is not None else None for variable in variables]
    if shapes != list(WEIGHT_SHAPES[kind]):
        raise ValueError(f"the model's Conv2D/Dense kernels and biases have shapes {shapes}; the lesson's "
                         f"network has {list(WEIGHT_SHAPES[kind])}, so it cannot be trained for the bar")
    return variables


def _load(variables: list, weights: list) -> None:
    for variable, value in zip(variables, weights, strict=True):
        variable.assign(np.asarray(value, np.float32))


@probe
def cnn_start(ctx: ProbeContext, x_train, y_train, weights: list, seed: int, model_from: str,
              trainer_from: str) -> dict:
    """Build the CNN run from the grader's initial ``weights``; ``*_from`` is "student" or
    "reference" (diagnosis)."""
    import keras

    keras.utils.set_random_seed(seed)
    model = ctx.module("model").MNISTModel() if model_from == "student" else reference_cnn()
    model(np.zeros((1, 28, 28, 1), np.float32))
    trainer = None
    if trainer_from == "student":
        trainer = ctx.module("training").Trainer(model)
        step = trainer.train_step
    else:
        step = reference_step(model)
    variables = lesson_variables(model, "cnn")
    _load(variables, weights)
    ctx.state["bar"] = {
        # The run keeps the Trainer alive: a train_step decorated with @tf.function (the
        # lesson's style) holds its instance only weakly, so `self` would become None.
        "kind": "cnn", "model": model, "trainer": trainer, "variables": variables,
        "runner": StepRunner(step, _images(x_train, True), np.asarray(y_train, np.int64)),
        "sampler": EpochSampler(len(y_train), seed), "steps": 0,
    }
    return {"ok": True}


@probe
def keras_start(ctx: ProbeContext, x_train, y_train, weights: list, seed: int) -> dict:
    """Build the student's compiled Keras model, with the grader's initial ``weights``."""
    import keras

    keras.utils.set_random_seed(seed)
    model = ctx.module("keras_model").build_keras_model()
    variables = lesson_variables(model, "keras")
    _load(variables, weights)
    ctx.state["bar"] = {
        "kind": "keras", "model": model, "variables": variables, "x": tf.constant(_images(x_train, False)),
        "y": tf.constant(np.asarray(y_train, np.int64)), "sampler": EpochSampler(len(y_train), seed), "steps": 0,
    }
    return {"ok": True}


@probe
def advance(ctx: ProbeContext, steps: int) -> dict:
    """Train ``steps`` more batches; return the weights of the lesson's layers."""
    run = ctx.state.get("bar")
    if run is None:
        raise RuntimeError("no training run in progress (the worker was restarted)")
    indices = run["sampler"].take(steps * BATCH_SIZE).reshape(steps, BATCH_SIZE)
    if run["kind"] == "cnn":
        run["runner"].run(indices)
        mode = run["runner"].mode
    else:
        _fit(run["model"], run["x"], run["y"], indices)
        mode = "fit"
    run["steps"] += steps
    return {"steps": run["steps"], "mode": mode,
            "weights": [np.asarray(variable, np.float32) for variable in run["variables"]]}


def _fit(model, x, y, indices: np.ndarray) -> None:
    """``model.fit`` on the batches ``x[indices[i]], y[indices[i]]`` in order, gathered from the
    staged tensors by ``tf.data``, ``FIT_STEPS_PER_EXECUTION`` steps per call of Keras's
    compiled loop (what ``compile(steps_per_execution=...)`` sets; the steps are the same)."""
    if model.steps_per_execution != FIT_STEPS_PER_EXECUTION:
        model.steps_per_execution, model.train_function = FIT_STEPS_PER_EXECUTION, None
    batches = tf.data.Dataset.from_tensor_slices(indices.astype(np.int32))
    model.fit(batches.map(lambda index: (tf.gather(x, index), tf.gather(y, index))), epochs=1, shuffle=False,
              verbose=0)
