"""Probes for ``training.py``: drive the student's ``Trainer`` on a grader-made model.

One bug costs one exercise: the Trainer is checked on the grader's own tiny model
(Flatten -> Dense(10, softmax), i.e. softmax regression), whose every number the
grader can recompute with NumPy, never on the student's ``MNISTModel``.
Inputs are ``x`` (N, 4, 4, 1) float32 and ``y`` (N,) int; weights ``W`` (16, 10), ``b`` (10,).
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

from grader.probes import ProbeContext, probe
from grader.probes.capture import captured_output
from grader.tf_runtime import tf

METRICS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")


def _probe_model(weights: list[np.ndarray]):
    """Softmax regression that records the ``training`` flag of every call."""
    import keras

    class FlagRecordingModel(keras.Model):
        def __init__(self):
            super().__init__()
            self.to_vector = keras.layers.Flatten()
            self.dense = keras.layers.Dense(10, activation="softmax")
            self.flags: list = []

        def call(self, x, training=None):
            self.flags.append(training)
            return self.dense(self.to_vector(x))

    model = FlagRecordingModel()
    model(np.zeros((1, 4, 4, 1), np.float32))
    model.set_weights([np.asarray(w, np.float32) for w in weights])
    model.flags.clear()
    return model


def _flag_text(flag) -> str:
    return repr(flag if isinstance(flag, (bool, type(None))) else bool(flag))


def _describe(trainer, model) -> dict:
    """Weights, metric values and recorded flags, as plain data."""
    metrics = {}
    for name in METRICS:
        metric = getattr(trainer, name, None)
        try:
            metrics[name] = float(metric.result()) if metric is not None else None
        except Exception:  # noqa: BLE001 - a metric that cannot report
            metrics[name] = None
    return {
        "weights": [np.asarray(w) for w in model.get_weights()],
        "metrics": metrics,
        "flags": [_flag_text(flag) for flag in model.flags],
    }


def _new_trainer(ctx: ProbeContext, weights):
    model = _probe_model(weights)
    return ctx.module("training").Trainer(model), model


@probe
def attributes(ctx: ProbeContext, weights: list) -> dict:
    """Class names and settings of the Trainer's loss, optimizer and metrics."""
    trainer, _ = _new_trainer(ctx, weights)

    def info(name):
        value = getattr(trainer, name, None)
        if value is None:
            return None
        config = {}
        with contextlib.suppress(Exception):
            config = {k: v for k, v in value.get_config().items() if isinstance(v, (str, int, float, bool))}
        return {"class": type(value).__name__, "config": config}

    names = ("loss_function", "optimizer", *METRICS)
    return {name: info(name) for name in names}


@probe
def train_steps(ctx: ProbeContext, weights: list, x: np.ndarray, y: np.ndarray, steps: int) -> dict:
    """Run ``train_step`` ``steps`` times on one batch; report after the first and the last."""
    trainer, model = _new_trainer(ctx, weights)
    inputs, labels = tf.constant(x), tf.constant(y)
    trainer.train_step(inputs, labels)
    first = _describe(trainer, model)
    for _ in range(steps - 1):
        trainer.train_step(inputs, labels)
    return {"first": first, "last": _describe(trainer, model)}


@probe
def test_step(ctx: ProbeContext, weights: list, x: np.ndarray, y: np.ndarray) -> dict:
    """Run ``test_step`` once on one batch."""
    trainer, model = _new_trainer(ctx, weights)
    trainer.test_step(tf.constant(x), tf.constant(y))
    return _describe(trainer, model)


@probe
def reset_metrics(ctx: ProbeContext, weights: list, x: np.ndarray, y: np.ndarray) -> dict:
    """A train step and a test step, then ``reset_metrics()``."""
    trainer, model = _new_trainer(ctx, weights)
    trainer.train_step(tf.constant(x), tf.constant(y))
    trainer.test_step(tf.constant(x), tf.constant(y))
    before = _describe(trainer, model)["metrics"]
    trainer.reset_metrics()
    return {"before": before, "after": _describe(trainer, model)["metrics"]}


@contextlib.contextmanager
def _library_messages_silenced():
    """No Python warnings or TensorFlow log lines, so what is captured is what the student printed."""
    logger = tf.get_logger()
    level = logger.level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logger.setLevel("ERROR")
        try:
            yield
        finally:
            logger.setLevel(level)


@probe
def fit(ctx: ProbeContext, weights: list, x_train, y_train, x_test, y_test, batch_size: int, epochs: int) -> dict:
    """``fit`` on unshuffled datasets; returns its records, the printout and the weights."""
    trainer, model = _new_trainer(ctx, weights)
    train = tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(batch_size)
    test = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(batch_size)
    with _library_messages_silenced(), captured_output() as printed:
        records = trainer.fit(train, test, epochs=epochs)
    plain_records = records
    if isinstance(records, list):
        plain_records = [
            {str(k): (float(v) if isinstance(v, (int, float, np.number, tf.Tensor)) and not isinstance(v, bool) else v)
             for k, v in record.items()} if isinstance(record, dict) else record
            for record in records
        ]
    return {"records": plain_records, "printed": printed.text, **_describe(trainer, model)}
