"""Withheld checks for ``preprocessing.py`` (1 point): a student release does not carry this file.

A second, independent test of ``normalize``: shapes and dtypes that
``test_preprocessing.py`` does not use (a channels-last batch, int64, float32), on other
random draws, against the same oracle (``images / 255`` in float64, through
``check_normalize``).
"""

import numpy as np
import pytest

from grader.test_preprocessing import check_normalize


@pytest.mark.points(1, visibility="hidden")
def test_normalize_on_unseen_inputs(student, rng):
    """normalize gives float32 images / 255 on a (N, H, W, 1) uint8 batch, int64 and float32 pixels"""
    batch = rng.integers(0, 256, size=(3, 9, 11, 1), dtype=np.uint8)
    batch[0, 0, :2, 0] = [0, 255]
    for images in [batch, rng.integers(0, 256, size=(2, 6)).astype(np.int64),
                   rng.integers(1, 255, size=(7,)).astype(np.float32)]:
        check_normalize(student, images)
