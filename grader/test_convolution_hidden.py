"""Withheld checks for ``convolution.py`` (1 point): a student release does not carry this file.

A second, independent test of ``conv2d``: image and kernel shapes, strides and paddings
that ``test_convolution.py`` does not use, on other random draws, against the same
oracle (``tf.nn.conv2d``, through ``check_conv2d``).
"""

import pytest

from grader.test_convolution import check_conv2d


@pytest.mark.points(1, visibility="hidden")
def test_conv2d_on_unseen_shapes(student, rng):
    """conv2d matches tf.nn.conv2d on unseen shapes: 1xk and full-size kernels, stride 2 'same', stride 3"""
    cases = [(1, "valid", (13, 10), (1, 3)), (1, "valid", (6, 5), (6, 5)), (2, "same", (9, 14), (4, 3)),
             (3, "valid", (12, 10), (3, 2)), (1, "same", (5, 8), (2, 5))]
    for stride, padding, shape, kshape in cases:
        check_conv2d(student, rng.normal(size=shape), rng.normal(size=kshape), stride=stride, padding=padding)
