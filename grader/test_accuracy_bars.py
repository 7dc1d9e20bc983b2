"""The accuracy bars on the real MNIST test set (16 points: model 4, training 6, keras_model 6).

Each bar trains one exercise's code within the lesson's budget (5 epochs, batch 32),
from initial weights the grader draws, with the grader's preprocessing, stopping as
soon as the bar is met; the grader scores the trained weights with its own forward pass
of the lesson's network (``grader.checking.bar_scoring``). Each bar runs exactly one student module,
paired with the grader's reference for the rest, so one exercise's code decides only
its own bar (and, under ``--isolate``, runs in a worker holding only that module):

- model: your ``MNISTModel`` trained by Keras's own training step (``train_step``, Adam);
- training: the lesson's CNN (the grader's) trained by your ``Trainer.train_step``;
- keras_model: your ``build_keras_model()`` trained by its own ``fit``.

Passed or failed, a bar asks for its pictures on the feedback page (``pictures.bar``):
the accuracy at every evaluation, the confusion matrix and misclassified test digits,
all from the grader's own predictions on the trained weights (cached with the outcome).
"""

import pytest

from grader.checking.bar_scoring import BarOutcome
from grader.checking.expectations import fail, value_of
from grader.plain import ErrorRecord

BAR_TIMEOUT = 900  # seconds per check: a failing run may train all 5 epochs


@pytest.fixture(scope="session")
def train_bar(bar_runs, progress):
    """``train_bar(exercise, label)``: the bar run of ``exercise`` (``BAR_RUNS``), once per
    session (under ``--isolate`` started ahead, at the first check); the student sees
    ``label: ...`` progress lines while it trains."""

    def outcome(exercise: str, label: str) -> BarOutcome:
        first = exercise not in bar_runs.done
        result = bar_runs.outcome(exercise, lambda text: progress(f"{label}: {text}"))
        if first and result.passed:
            progress(f"{label}: {result.summary()}")
        return result

    return outcome


def report(outcome: BarOutcome, what: str, hint: str, record_property, pictures) -> None:
    __tracebackhide__ = True
    pictures.bar(outcome)
    if outcome.passed:
        record_property("note", outcome.summary())  # results.json: the accuracy and epochs reached
        return
    if outcome.not_implemented:  # name the stub, as every other check does
        message = outcome.error.splitlines()[0].removeprefix("NotImplementedError: ")
        value_of(ErrorRecord("NotImplementedError", message), what)
    fail(what, outcome.summary(), None if outcome.error else hint)


@pytest.mark.points(6, exercise="training")
@pytest.mark.timeout(BAR_TIMEOUT)
def test_cnn_bar_with_your_train_step(train_bar, record_property, pictures):
    """your Trainer.train_step trains the CNN to 98% test accuracy within 5 epochs"""
    report(train_bar("training", "bar with your train_step"),
           "the lesson's CNN trained with your Trainer.train_step",
           "check the training checks above: the step must use training=True, compute the loss "
           "inside the tape and apply the gradients with Adam.", record_property, pictures)


@pytest.mark.points(4, exercise="model")
@pytest.mark.timeout(BAR_TIMEOUT)
def test_cnn_bar_with_your_model(train_bar, record_property, pictures):
    """your MNISTModel trains to 98% test accuracy within 5 epochs"""
    report(train_bar("model", "bar with your MNISTModel"),
           "your MNISTModel trained with the grader's reference step (Keras's own train_step, Adam)",
           "check the model checks above: relu after the convolution and the first dense layer, "
           "softmax on the last, Flatten in between.", record_property, pictures)


@pytest.mark.points(6, exercise="keras_model")
@pytest.mark.timeout(BAR_TIMEOUT)
def test_keras_bar(train_bar, record_property, pictures):
    """your build_keras_model() trains with fit to 97% test accuracy within 5 epochs"""
    report(train_bar("keras_model", "bar with your Keras model"), "build_keras_model() trained with model.fit(batch_size=32)",
           "check the Keras model checks above: Dense(128, relu), Dropout(0.2), Dense(10, softmax), "
           "compiled with adam and sparse_categorical_crossentropy.", record_property, pictures)
