"""Withheld checks for ``pooling.py`` (1 point): a student release does not carry this file.

A second, independent test of ``max_pool2d``: sizes, channels, strides and paddings that
``test_pooling.py`` does not use, on other random draws, against the same oracle
(``tf.nn.max_pool2d``, through ``check_pool``).
"""

import numpy as np
import pytest

from grader.test_pooling import check_pool


@pytest.mark.points(1, visibility="hidden")
def test_pool_on_unseen_shapes(student, rng):
    """max_pool2d matches tf.nn.max_pool2d on unseen sizes, channels, strides and 'same' padding"""
    check_pool(student, rng.normal(size=(10, 13)), pool_size=3, stride=2)
    check_pool(student, rng.normal(size=(9, 7, 2)), pool_size=2)
    check_pool(student, rng.normal(size=(8, 11)) - 4.0, pool_size=3, stride=3, padding="same")
    check_pool(student, rng.integers(-60, -1, size=(6, 7, 3)).astype(np.int64), pool_size=2, stride=1, padding="same")
