"""Withheld checks for ``training.py`` (1 point): a student release does not carry this file.

A second, independent test of ``Trainer.train_step``: one step on batches of sizes
``test_training.py`` does not use, from other random weights, against the same oracle
(the NumPy Adam step of ``grader.checking.training_oracle``, through ``check_one_adam_step``).
"""

import pytest

from grader.test_training import check_one_adam_step, make_batch, make_weights


@pytest.mark.points(1, visibility="hidden")
def test_adam_step_on_unseen_batches(student, rng):
    """train_step takes one Adam step on unseen batches of 5 and 40 images"""
    for size in (5, 40):
        check_one_adam_step(student, make_weights(rng), *make_batch(rng, size))
