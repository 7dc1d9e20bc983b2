"""Checks for ``training.py``: the ``Trainer`` and its GradientTape step (15 points here,
1 in ``test_training_hidden.py``, withheld from a student release, and 6 for the CNN
accuracy bar in ``test_accuracy_bars.py``).

The Trainer runs on the grader's softmax-regression model (``grader.probes.training``)
and every expected number comes from the NumPy oracle ``grader.checking.training_oracle``, so a
bug in the student's MNISTModel cannot cost points here.
"""

import numpy as np
import pytest

from grader.checking import training_oracle as oracle
from grader.checking.expectations import fail, value_of

#: Metric values are float32 in Keras; compare them with this relative tolerance.
METRIC_RTOL = 1e-4
#: Weights after a few Adam steps (each moves a weight by about 1e-3).
WEIGHT_ATOL = 2e-5
EXPECTED_CLASSES = {
    "loss_function": "SparseCategoricalCrossentropy",
    "optimizer": "Adam",
    "train_loss": "Mean",
    "train_accuracy": "SparseCategoricalAccuracy",
    "test_loss": "Mean",
    "test_accuracy": "SparseCategoricalAccuracy",
}


#: Keras's SGD default learning rate: what a Trainer with keras.optimizers.SGD() steps by.
SGD_LEARNING_RATE = 0.01
SGD_HINT = ("the weights moved like plain SGD (w -= 0.01 * gradient), not Adam: "
            "use self.optimizer = keras.optimizers.Adam().")


def make_batch(rng, n=16):
    x = rng.normal(size=(n, 4, 4, 1)).astype(np.float32)
    y = rng.integers(0, 10, size=n).astype(np.int64)
    return x, y


def make_weights(rng):
    return [rng.normal(scale=0.3, size=(16, 10)).astype(np.float32), np.zeros(10, np.float32)]


def training_probe(student, probe, *args, what):
    __tracebackhide__ = True
    return value_of(student.call(f"training.{probe}", *args), what)


def expect_metric(metrics, name, expected, what, hint=None):
    __tracebackhide__ = True
    got = metrics.get(name)
    if got is None or not np.isclose(got, expected, rtol=METRIC_RTOL, atol=1e-6):
        fail(what, f"{name} should be {expected:.6f}, got {got}", hint)


def expect_weights(got, expected, what, hints):
    """``hints`` maps a candidate weight list to the message if the student's equals it."""
    __tracebackhide__ = True
    if all(np.allclose(g, e, atol=WEIGHT_ATOL) for g, e in zip(got, expected)):
        return
    for candidate, hint in hints:
        if all(np.allclose(g, c, atol=WEIGHT_ATOL) for g, c in zip(got, candidate)):
            fail(what, "the weights after the step are not one Adam step down the gradient", hint)
    change = max(float(np.abs(g - e).max()) for g, e in zip(got, expected))
    fail(what, f"the weights after the step differ from one Adam step by up to {change:.2e}",
         "compute the loss of model(inputs, training=True) inside the tape, then "
         "optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), "
         "model.trainable_variables)).")


@pytest.mark.points(2)
def test_trainer_attributes(student, rng):
    """Trainer has the lesson's loss, optimizer and four metrics"""
    info = training_probe(student, "attributes", make_weights(rng), what="Trainer(model)")
    for name, expected in EXPECTED_CLASSES.items():
        got = info.get(name)
        if got is None:
            fail("Trainer(model)", f"has no attribute {name!r}", f"set self.{name} = ...{expected}() in __init__.")
        if got["class"] != expected:
            fail("Trainer(model)", f"{name} is a {got['class']}, expected keras {expected}")
    if info["loss_function"]["config"].get("from_logits"):
        fail("Trainer(model)", "loss_function has from_logits=True",
             "the model ends in softmax, so its outputs are probabilities: keep from_logits=False.")


@pytest.mark.points(3)
def test_train_step_applies_one_adam_step(student, rng):
    """train_step takes exactly one Adam step down the gradient of the loss"""
    check_one_adam_step(student, make_weights(rng), *make_batch(rng))


def check_one_adam_step(student, weights, x, y):
    """One train_step from ``weights`` on batch ``(x, y)`` must equal one Adam step of the oracle."""
    __tracebackhide__ = True
    what = f"Trainer.train_step(inputs {x.shape}, labels {y.shape})"
    report = training_probe(student, "train_steps", weights, x, y, 1, what=what)["first"]
    expected = oracle.train_steps(weights, x, y, 1)
    step = [e - w for e, w in zip(expected, weights)]
    expect_weights(report["weights"], expected, what, [
        (weights, "the weights did not change: are the gradients applied with "
                  "optimizer.apply_gradients (and is the loss computed inside the tape)?"),
        ([w - s for w, s in zip(weights, step)], "the step goes up the gradient (gradient ascent): "
                                                 "apply the gradients as they are, do not negate the loss."),
        (oracle.train_steps(weights, x, y, 2), "two optimizer steps were taken for one train_step."),
        ([w - SGD_LEARNING_RATE * g for w, g in zip(weights, oracle.gradients(weights, x, y))], SGD_HINT),
    ])


@pytest.mark.points(2)
def test_train_step_lowers_loss(student, rng):
    """twenty train_steps on one batch lower its loss"""
    weights, (x, y) = make_weights(rng), make_batch(rng)
    what = "20 x Trainer.train_step on one batch"
    report = training_probe(student, "train_steps", weights, x, y, 20, what=what)
    before, _ = oracle.loss_and_accuracy(weights, x, y)
    after, _ = oracle.loss_and_accuracy(report["last"]["weights"], x, y)
    if not after < before - 1e-3:
        fail(what, f"the loss went from {before:.4f} to {after:.4f}; it should go down",
             "step against the gradient of the loss with optimizer.apply_gradients.")


@pytest.mark.points(2)
def test_train_step_training_flag_and_metrics(student, rng):
    """train_step calls the model with training=True and updates the train metrics"""
    weights, (x, y) = make_weights(rng), make_batch(rng)
    what = f"Trainer.train_step(inputs {x.shape}, labels {y.shape})"
    report = training_probe(student, "train_steps", weights, x, y, 1, what=what)["first"]
    if "True" not in report["flags"] or "False" in report["flags"]:
        fail(what, f"the model was called with training={', '.join(report['flags']) or '(never called)'}",
             "call self.model(inputs, training=True) in the train step (Dropout and friends need it).")
    loss, accuracy = oracle.loss_and_accuracy(weights, x, y)
    metrics = report["metrics"]
    expect_metric(metrics, "train_loss", loss, what, "update self.train_loss(loss) with the batch's loss.")
    expect_metric(metrics, "train_accuracy", accuracy, what,
                  "update self.train_accuracy(labels, predictions) with the predictions made before the update.")
    for name in ("test_loss", "test_accuracy"):
        expect_metric(metrics, name, 0.0, what, "a train step must not touch the test metrics.")


@pytest.mark.points(2)
def test_test_step(student, rng):
    """test_step changes no weight and updates only the test metrics"""
    weights, (x, y) = make_weights(rng), make_batch(rng)
    what = f"Trainer.test_step(inputs {x.shape}, labels {y.shape})"
    report = training_probe(student, "test_step", weights, x, y, what=what)
    if not all(np.array_equal(a, b) for a, b in zip(report["weights"], weights)):
        fail(what, "the weights changed", "a test step only measures: no tape, no apply_gradients.")
    if "True" in report["flags"]:
        fail(what, "the model was called with training=True", "use training=False when evaluating.")
    loss, accuracy = oracle.loss_and_accuracy(weights, x, y)
    for name in ("train_loss", "train_accuracy"):
        expect_metric(report["metrics"], name, 0.0, what, "the test step updated the train metrics.")
    expect_metric(report["metrics"], "test_loss", loss, what, "update self.test_loss(loss).")
    expect_metric(report["metrics"], "test_accuracy", accuracy, what,
                  "update self.test_accuracy(labels, predictions).")


@pytest.mark.points(1)
def test_reset_metrics(student, rng):
    """reset_metrics empties all four metrics"""
    weights, (x, y) = make_weights(rng), make_batch(rng)
    report = training_probe(student, "reset_metrics", weights, x, y,
                 what="a train_step, a test_step, then Trainer.reset_metrics()")
    left = [name for name, value in report["after"].items() if value is None or abs(value) > 1e-12]
    if left:
        fail("Trainer.reset_metrics() after a train and a test step", f"{', '.join(left)} not reset",
             "call metric.reset_state() on each of the four metrics (Keras 3 spelling).")


@pytest.mark.points(3)
def test_fit_records_per_epoch(student, rng):
    """fit returns one correct record per epoch, resetting the metrics each epoch"""
    weights = make_weights(rng)
    (x_train, y_train), (x_test, y_test) = make_batch(rng, 32), make_batch(rng, 16)
    epochs, batch = 3, 8
    what = f"Trainer.fit(train: {len(y_train)} samples in batches of {batch}, test: {len(y_test)}, epochs={epochs})"
    report = training_probe(student, "fit", weights, x_train, y_train, x_test, y_test, batch, epochs, what=what)
    batches = lambda x, y: [(x[i:i + batch], y[i:i + batch]) for i in range(0, len(y), batch)]  # noqa: E731
    train, test = batches(x_train, y_train), batches(x_test, y_test)
    expected = oracle.fit_records(weights, train, test, epochs)
    records = report["records"]
    if not isinstance(records, list) or len(records) != epochs:
        fail(what, f"expected a list of {epochs} dicts (one per epoch), got {_shape_of(records)}",
             "append one dict per epoch to a list and return it.")
    stale = oracle.fit_records(weights, train, test, epochs, reset_each_epoch=False)
    mistakes = [
        (oracle.fit_records(weights, test, test, epochs),
         "fit trains on the test data: train_step on train_data, test_step on test_data."),
        (fit_records_with(weights, train, test, epochs, step="none"),
         "the weights never change during fit: the gradients are never applied; train_step must call "
         "self.optimizer.apply_gradients(...)."),
        (fit_records_with(weights, train, test, epochs, test_trains=True),
         "the test batches changed the weights too: a test step only measures (no tape, no apply_gradients)."),
        (fit_records_with(weights, train, test, epochs, test_metrics="train"),
         "the test step updated the train metrics: test_step updates test_loss and test_accuracy only."),
        (fit_records_with(weights, train, test, epochs, step="sgd"), SGD_HINT),
        ([{**record, "train_accuracy": 100 * record["train_accuracy"], "test_accuracy": 100 * record["test_accuracy"]}
          for record in expected],
         "the accuracies are percentages: record them as fractions in [0, 1] (print them as % if you like)."),
    ]
    for index, (got, want) in enumerate(zip(records, expected), start=1):
        if not isinstance(got, dict) or set(want) - set(got):
            missing = sorted(set(want) - set(got)) if isinstance(got, dict) else "everything"
            fail(what, f"record {index} lacks {missing}", f"each record has the keys {sorted(want)}.")
        for key, value in want.items():
            if not _close(got[key], value):
                hint = next((h for candidate, h in mistakes if _close(got[key], candidate[index - 1][key])),
                            None) or not_reset_hint(records, expected, stale)
                fail(what, f"epoch {index}: {key} should be {value:.5f}, got {got[key]}", hint)
    lines = [line for line in report["printed"].splitlines() if line.strip()]
    if len(lines) < epochs:
        fail(what, f"printed {len(lines)} lines for {epochs} epochs",
             "print one line per epoch with the four metric values (print() or tf.print()).")
    if len(lines) >= epochs * len(train):
        fail(what, f"printed {len(lines)} lines for {epochs} epochs of {len(train)} batches",
             "print one line per epoch, after its test batches, not one per batch: a real epoch has "
             "1,875 batches.")


def not_reset_hint(records: list, expected: list[dict], stale: list[dict]) -> str | None:
    """Which metrics (train, test or both) carry over from one epoch to the next; None if none do.

    A metric carries over if its recorded values are, summed over the epochs, closer to
    those of a fit that never resets (``stale``) than to the right ones (a few Adam steps
    move the test loss by less than the checks' tolerance, so one epoch cannot tell).
    """
    def deviation(reference: list[dict], key: str) -> float:
        return sum(abs(float(got[key]) - want[key]) for got, want in zip(records, reference))

    try:
        carried = [key for key in expected[0] if key != "epoch" and deviation(stale, key) < deviation(expected, key)]
    except (TypeError, ValueError, KeyError):
        return None
    splits = sorted({key.split("_")[0] for key in carried}, reverse=True)  # "train", "test"
    if not splits:
        return None
    if len(splits) == 2:
        return "the metrics are never reset: call self.reset_metrics() at the start of every epoch."
    split = splits[0]
    return (f"the {split} metrics ({split}_loss, {split}_accuracy) carry over from the previous epoch: "
            f"reset_metrics() must reset all four metrics (fit calls it at the start of every epoch).")


def fit_records_with(weights, batches_train, batches_test, epochs: int, *, step: str = "adam",
                     test_trains: bool = False, test_metrics: str = "test") -> list[dict]:
    """What a ``fit`` with a typical mistake returns (``oracle.fit_records`` is the correct one).

    ``step``: "adam" (right), "sgd" (keras.optimizers.SGD()) or "none" (gradients never
    applied); ``test_trains``: the test step takes an optimizer step too; ``test_metrics``:
    which metrics the test step updates ("test" is right, "train" is the mistake).
    """
    adam = oracle.Adam(weights)

    def update(x, y):
        if step == "adam":
            adam.apply(oracle.gradients(adam.weights, x, y))
        elif step == "sgd":
            gradients = oracle.gradients(adam.weights, x, y)
            adam.weights = [w - SGD_LEARNING_RATE * g for w, g in zip(adam.weights, gradients)]

    records = []
    for epoch in range(1, epochs + 1):
        sums = {"train": [0.0, 0.0, 0, 0], "test": [0.0, 0.0, 0, 0]}  # loss sum, correct, batches, samples
        for x, y in batches_train:
            oracle.accumulate(sums["train"], *oracle.loss_and_accuracy(adam.weights, x, y), len(y))
            update(x, y)
        for x, y in batches_test:
            oracle.accumulate(sums[test_metrics], *oracle.loss_and_accuracy(adam.weights, x, y), len(y))
            if test_trains:
                update(x, y)
        records.append(oracle.epoch_record(epoch, sums))
    return records


def _close(got, want) -> bool:
    return isinstance(got, (int, float)) and np.isclose(got, want, rtol=1e-3, atol=1e-5)


def _shape_of(value) -> str:
    return f"a {type(value).__name__}" + (f" of {len(value)}" if isinstance(value, list) else "")
