"""How the bars run a train step (``grader.probes.step_loop``): the loop changes nothing checked.

Real TensorFlow and Keras, real MNIST for the lesson's Trainer; small Dense models where
only the fallback order is under test.
"""

import numpy as np
import pytest

from grader.mnist import load_data
from grader.probes.bars import _images
from grader.probes.step_loop import BATCH_SIZE, StepRunner
from grader.target import Target
from grader.tf_runtime import tf
from tests.conftest import REPO
from tests.corpus.build import materialize
from tests.corpus.correct_variants import BY_ID

keras = pytest.importorskip("keras")


def batches(count: int, size: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).permutation(size)[: count * BATCH_SIZE].reshape(count, BATCH_SIZE)


#: The solutions and the correct variants whose Trainer differs (an own @tf.function with XLA, the lesson's style).
TRAINERS = ("solutions", "trainer_xla_compiled", "lesson_quickstart_keras3")


@pytest.mark.parametrize("trainer", TRAINERS)
def test_the_loop_trains_to_the_same_bits_as_one_call_per_batch(trainer, tmp_path):
    (x, y), _ = load_data()
    x, y = _images(x[:4000], True), y[:4000].astype(np.int64)
    folder = REPO / "solutions" if trainer == "solutions" else materialize(BY_ID[trainer], tmp_path / trainer)
    target, indices, weights, modes = Target(folder), batches(25, 4000), [], []
    for loop in (True, False):
        keras.utils.set_random_seed(0)
        trainer = target.module("training").Trainer(target.module("model").MNISTModel())
        runner = StepRunner(trainer.train_step, x, y, loop=loop)
        runner.run(indices[:12])  # two chunks: the loop is built once and called twice
        runner.run(indices[12:])
        weights.append([variable.numpy() for variable in trainer.model.trainable_variables])
        modes.append(runner.mode)
    assert modes == ["xla-loop", "xla"]
    assert all(np.array_equal(a, b) for a, b in zip(*weights))


def small_run(step_body, loop: bool = True):
    """A Dense(3) on 8 features trained by ``step_body(model, optimizer, inputs, labels)``."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax")])
    optimizer, loss = keras.optimizers.Adam(), keras.losses.SparseCategoricalCrossentropy()
    rng = np.random.default_rng(0)
    x, y = rng.random((256, 8), dtype=np.float32), rng.integers(0, 3, 256)

    def step(inputs, labels):
        step_body(inputs, labels)
        with tf.GradientTape() as tape:
            value = loss(labels, model(inputs, training=True))
        gradients = tape.gradient(value, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))

    before = [variable.numpy() for variable in model.trainable_variables]
    runner = StepRunner(step, x, y, loop=loop)
    runner.run(batches(6, 256))
    changed = any(not np.array_equal(a, variable.numpy()) for a, variable in zip(before, model.trainable_variables))
    return runner.mode, changed


def test_python_side_effects_run_as_often_in_the_loop_as_with_one_compiled_call_per_batch():
    calls = {True: [], False: []}
    for loop in (True, False):
        mode, changed = small_run(lambda inputs, labels, loop=loop: calls[loop].append(1), loop=loop)
        assert changed and mode == ("xla-loop" if loop else "xla")
    assert len(calls[True]) == len(calls[False]) >= 1  # once per trace, never once per batch


def test_a_step_that_cannot_be_traced_runs_as_written_one_batch_at_a_time():
    seen = []
    mode, changed = small_run(lambda inputs, labels: seen.append(float(np.asarray(inputs).sum())))
    assert (mode, changed, len(seen)) == ("eager", True, 6)


def test_a_step_xla_cannot_compile_runs_as_a_graph():
    mode, changed = small_run(lambda inputs, labels: tf.strings.as_string(labels))  # no XLA kernel for strings
    assert (mode, changed) == ("graph", True)
