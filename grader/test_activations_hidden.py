"""Withheld checks for ``activations.py`` (1 point): a student release does not carry this file.

A second, independent test of the softmax that ``test_activations.py`` checks: other
shapes (4-D, one row), float32 logits and other axes, other random draws, against the
same oracle (``keras.activations.softmax`` in float64, through ``check_softmax``).
"""

import numpy as np
import pytest

from grader.test_activations import check_softmax


@pytest.mark.points(1, visibility="hidden")
def test_softmax_on_unseen_logits(student, rng):
    """softmax matches keras on 4-D, single-row and float32 logits along several axes"""
    for shape, dtype, axis in [((2, 3, 2, 5), np.float64, -1), ((1, 9), np.float64, 1),
                               ((5, 7), np.float32, -1), ((3, 4, 2), np.float32, 0)]:
        check_softmax(student, rng.normal(scale=4, size=shape).astype(dtype), axis=axis)
