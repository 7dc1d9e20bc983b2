"""End-to-end runs of the lesson: train the CNN with the custom loop, or the Keras model.

Unlike the grader, these use ALL of the target's own code (its preprocessing, model and
Trainer), as a student's finished pipeline would, and show a progress bar per epoch.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from grader.mnist import load_data
from grader.target import Target


def _prepared(target: Target, channel_axis: bool):
    """MNIST through the target's own preprocessing."""
    prep = target.module("preprocessing")
    (x_train, y_train), (x_test, y_test) = load_data()
    x_train, x_test = prep.normalize(x_train), prep.normalize(x_test)
    if channel_axis:
        x_train, x_test = prep.add_channel_axis(x_train), prep.add_channel_axis(x_test)
    return prep, x_train, y_train.astype(np.int64), x_test, y_test.astype(np.int64)


def train_cnn(target: Target, epochs: int = 5, seed: int = 0, batch_size: int = 32) -> list[dict]:
    """The lesson's custom loop: the target's Trainer on its MNISTModel, one line per epoch.

    Returns one dict per epoch (epoch, train/test loss and accuracy, seconds).
    """
    import keras
    from tqdm import tqdm

    from grader.probes.step_loop import CompiledStep

    keras.utils.set_random_seed(seed)
    prep, x_train, y_train, x_test, y_test = _prepared(target, channel_axis=True)
    train_ds, test_ds = prep.make_datasets(x_train, y_train, x_test, y_test, batch_size=batch_size, seed=seed)
    trainer = target.module("training").Trainer(target.module("model").MNISTModel())
    train_step, test_step = CompiledStep(trainer.train_step), CompiledStep(trainer.test_step)
    history = []
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        trainer.reset_metrics()
        batches = tqdm(train_ds, total=-(-len(y_train) // batch_size), desc=f"epoch {epoch}/{epochs}",
                       unit="batch", leave=False)
        for images, labels in batches:
            train_step(images, labels)
            batches.set_postfix(loss=f"{float(trainer.train_loss.result()):.4f}",
                                accuracy=f"{float(trainer.train_accuracy.result()):.2%}", refresh=False)
        for images, labels in test_ds:
            test_step(images, labels)
        record = {
            "epoch": epoch,
            "train_loss": float(trainer.train_loss.result()),
            "train_accuracy": float(trainer.train_accuracy.result()),
            "test_loss": float(trainer.test_loss.result()),
            "test_accuracy": float(trainer.test_accuracy.result()),
            "seconds": round(time.perf_counter() - started, 1),
        }
        history.append(record)
        print(f"Epoch {epoch}: loss {record['train_loss']:.4f}, accuracy {record['train_accuracy']:.2%}, "
              f"test loss {record['test_loss']:.4f}, test accuracy {record['test_accuracy']:.2%} "
              f"({record['seconds']} s)", flush=True)
    return history


def train_keras(target: Target, epochs: int = 5, seed: int = 0, batch_size: int = 32) -> list[dict]:
    """The lesson's Keras model: ``build_keras_model()`` then ``fit`` with Keras's progress bar."""
    import keras

    keras.utils.set_random_seed(seed)
    _, x_train, y_train, x_test, y_test = _prepared(target, channel_axis=False)
    model = target.module("keras_model").build_keras_model()
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size,
                        validation_data=(x_test, y_test), verbose=1 if sys.stdout.isatty() else 2)
    keys = {"loss": "train_loss", "accuracy": "train_accuracy", "val_loss": "test_loss",
            "val_accuracy": "test_accuracy"}
    return [
        {"epoch": epoch + 1, **{ours: float(history.history[theirs][epoch]) for theirs, ours in keys.items()}}
        for epoch in range(len(history.history["loss"]))
    ]
