# Exercise stubs: generated from solutions/ by `course build`; edit the function bodies marked 'not implemented yet'.
"""A hand-written training loop with ``tf.GradientTape``.

``model.fit`` hides the loop; here it is spelled out. One *training step* on a
batch of images:

1. **Forward pass** under a ``tf.GradientTape``: the tape records every
   operation, so TensorFlow can later go backwards through them. The model is
   called with ``training=True`` (layers such as Dropout behave differently
   during training).
2. **Loss**: how wrong the predictions are. The model outputs probabilities and
   the labels are integers 0..9, so the loss is
   ``SparseCategoricalCrossentropy``: ``-log(p[label])`` averaged over the batch,
   small when the model gives the right digit a high probability.
3. **Gradients**: ``tape.gradient(loss, weights)`` computes d(loss)/d(weight)
   for every trainable weight (back-propagation).
4. **Update**: the optimizer (Adam, a gradient descent with per-weight adaptive
   step sizes and momentum) moves each weight a little against its gradient.

A *test step* only does the forward pass (``training=False``) and measures; it
never changes the weights, otherwise the test set would leak into training.

Running averages over an epoch are kept in Keras *metrics*: ``Mean`` for the
loss and ``SparseCategoricalAccuracy`` (the fraction of images whose most
probable class equals the label). Metrics accumulate across calls, so they are
reset at the start of every epoch.

``train_step`` and ``test_step`` are plain Python methods here. Wrapping them in
``tf.function`` compiles them into a graph and makes them much faster; the code
inside stays the same.
"""

from __future__ import annotations

from collections.abc import Iterable

import keras
import numpy as np
import tensorflow as tf


class Trainer:
    """Trains and evaluates a Keras classifier that outputs probabilities.

    Attributes:
        model: the ``keras.Model`` being trained.
        loss_function: ``keras.losses.SparseCategoricalCrossentropy()``; integer
            labels, probabilities (not logits) as predictions.
        optimizer: ``keras.optimizers.Adam()`` with its default learning rate.
        train_loss: ``keras.metrics.Mean(name="train_loss")``, the average
            training loss of the epoch so far.
        train_accuracy: ``keras.metrics.SparseCategoricalAccuracy(
            name="train_accuracy")``.
        test_loss: ``keras.metrics.Mean(name="test_loss")``.
        test_accuracy: ``keras.metrics.SparseCategoricalAccuracy(
            name="test_accuracy")``.
    """

    def __init__(self, model: keras.Model) -> None:
        """Store the model and create the loss, the optimizer and four metrics.

        Args:
            model: a Keras model mapping a batch of inputs to class
                probabilities of shape ``(N, num_classes)``.
        """
        raise NotImplementedError("Trainer.__init__: not implemented yet - read its docstring, then replace this line with your code")

    def train_step(self, inputs: tf.Tensor, labels: tf.Tensor) -> None:
        """One gradient-descent step on one batch; updates the train metrics.

        Args:
            inputs: batch of inputs, e.g. shape ``(N, 28, 28, 1)`` float32.
            labels: integer class labels, shape ``(N,)``.
        """
        raise NotImplementedError("Trainer.train_step: not implemented yet - read its docstring, then replace this line with your code")

    def test_step(self, inputs: tf.Tensor, labels: tf.Tensor) -> None:
        """Evaluate one batch without changing the weights; updates test metrics.

        Args:
            inputs: batch of inputs, e.g. shape ``(N, 28, 28, 1)`` float32.
            labels: integer class labels, shape ``(N,)``.
        """
        raise NotImplementedError("Trainer.test_step: not implemented yet - read its docstring, then replace this line with your code")

    def reset_metrics(self) -> None:
        """Reset the four metrics to their empty state (start of an epoch)."""
        raise NotImplementedError("Trainer.reset_metrics: not implemented yet - read its docstring, then replace this line with your code")

    def fit(
        self,
        train_data: Iterable[tuple[tf.Tensor, tf.Tensor]],
        test_data: Iterable[tuple[tf.Tensor, tf.Tensor]],
        epochs: int = 5,
    ) -> list[dict[str, float | int]]:
        """Train for ``epochs`` epochs, evaluating on ``test_data`` after each.

        Each epoch: reset the metrics, run :meth:`train_step` on every
        ``(inputs, labels)`` batch of ``train_data``, then :meth:`test_step` on
        every batch of ``test_data``, record the metric values and print one
        line such as::

            Epoch 1: loss 0.1342, accuracy 96.01%, test loss 0.0621, test accuracy 98.02%

        Args:
            train_data: iterable of ``(inputs, labels)`` batches, e.g. a batched
                ``tf.data.Dataset`` (iterated once per epoch, so a shuffling
                dataset gives a new order every epoch).
            test_data: iterable of ``(inputs, labels)`` batches.
            epochs: positive int, number of passes over ``train_data``.

        Returns:
            One dict per epoch, in order, with keys ``"epoch"`` (1-based int),
            ``"train_loss"``, ``"train_accuracy"``, ``"test_loss"`` and
            ``"test_accuracy"`` (Python floats; accuracies as fractions in
            ``[0, 1]``).

        Raises:
            TypeError: if ``epochs`` is not an int (bool and float rejected).
            ValueError: if ``epochs < 1``.
        """
        raise NotImplementedError("Trainer.fit: not implemented yet - read its docstring, then replace this line with your code")
