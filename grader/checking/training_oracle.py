"""NumPy oracle for the training checks: softmax regression trained with Keras's Adam.

The training probes give the student's ``Trainer`` a grader model ``p = softmax(x W + b)``
(``x`` flattened to (N, 16), ``W`` (16, 10), ``b`` (10,)). Every number a correct Trainer
produces on it is recomputed here in float64:

- loss ``L = mean_n(-log p[n, y_n])`` (SparseCategoricalCrossentropy, probabilities in);
- gradients ``dL/dW = x^T (p - onehot(y)) / N``, ``dL/db = mean_n(p - onehot(y))``;
- Keras 3 Adam (lr 1e-3, beta 0.9/0.999, epsilon 1e-7): ``m += (g - m)(1 - b1)``,
  ``v += (g^2 - v)(1 - b2)``, ``w -= lr sqrt(1 - b2^t)/(1 - b1^t) * m / (sqrt(v) + eps)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LEARNING_RATE, BETA_1, BETA_2, EPSILON = 1e-3, 0.9, 0.999, 1e-7
#: Keras clips probabilities to [eps, 1 - eps] inside the cross-entropy.
PROBABILITY_EPSILON = 1e-7


def predict(weights, x: np.ndarray) -> np.ndarray:
    """(N, 4, 4, 1) inputs -> (N, 10) probabilities."""
    W, b = (np.asarray(w, np.float64) for w in weights)
    logits = x.reshape(len(x), -1).astype(np.float64) @ W + b
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def loss_and_accuracy(weights, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    p = predict(weights, x)
    picked = np.clip(p[np.arange(len(y)), y], PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON)
    return float(-np.log(picked).mean()), float((p.argmax(axis=1) == y).mean())


def gradients(weights, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    p = predict(weights, x)
    delta = p.copy()
    delta[np.arange(len(y)), y] -= 1
    flat = x.reshape(len(x), -1).astype(np.float64)
    return [flat.T @ delta / len(y), delta.mean(axis=0)]


@dataclass
class Adam:
    """Keras 3's Adam with default settings, on a list of float64 arrays."""

    weights: list[np.ndarray]
    step: int = 0
    m: list[np.ndarray] = field(default_factory=list)
    v: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self):
        self.weights = [np.asarray(w, np.float64).copy() for w in self.weights]
        self.m = [np.zeros_like(w) for w in self.weights]
        self.v = [np.zeros_like(w) for w in self.weights]

    def apply(self, grads: list[np.ndarray]) -> None:
        self.step += 1
        alpha = LEARNING_RATE * np.sqrt(1 - BETA_2**self.step) / (1 - BETA_1**self.step)
        for w, g, m, v in zip(self.weights, grads, self.m, self.v):
            m += (g - m) * (1 - BETA_1)
            v += (g * g - v) * (1 - BETA_2)
            w -= alpha * m / (np.sqrt(v) + EPSILON)


def train_steps(weights, x, y, steps: int) -> list[np.ndarray]:
    """Weights after ``steps`` Adam steps on one batch."""
    adam = Adam(weights)
    for _ in range(steps):
        adam.apply(gradients(adam.weights, x, y))
    return adam.weights


def fit_records(weights, batches_train, batches_test, epochs: int, reset_each_epoch: bool = True) -> list[dict]:
    """What a correct ``fit`` returns for these (x, y) batch lists, in order.

    ``reset_each_epoch=False`` gives what a fit that never resets its metrics returns.
    """
    adam = Adam(weights)
    records = []
    sums: dict[str, list] = {}
    for epoch in range(1, epochs + 1):
        if reset_each_epoch or not sums:
            # per split: loss sum over batches, correct predictions, batches, samples
            sums = {"train": [0.0, 0.0, 0, 0], "test": [0.0, 0.0, 0, 0]}
        for x, y in batches_train:
            loss, accuracy = loss_and_accuracy(adam.weights, x, y)
            accumulate(sums["train"], loss, accuracy, len(y))
            adam.apply(gradients(adam.weights, x, y))
        for x, y in batches_test:
            loss, accuracy = loss_and_accuracy(adam.weights, x, y)
            accumulate(sums["test"], loss, accuracy, len(y))
        records.append(epoch_record(epoch, sums))
    return records


def accumulate(entry: list, loss: float, accuracy: float, count: int) -> None:
    """Add one batch to a split's ``[loss sum, correct, batches, samples]``.

    Mean metric: one value per batch; accuracy metric: correct over samples.
    """
    entry[0] += loss
    entry[1] += accuracy * count
    entry[2] += 1
    entry[3] += count


def epoch_record(epoch: int, sums: dict[str, list]) -> dict:
    """The record ``fit`` returns for one epoch from the train and test sums (0.0 for an empty split)."""
    record = {"epoch": epoch}
    for split in ("train", "test"):
        loss_sum, correct, batches, samples = sums[split]
        record[f"{split}_loss"] = loss_sum / batches if batches else 0.0
        record[f"{split}_accuracy"] = correct / samples if samples else 0.0
    return record
