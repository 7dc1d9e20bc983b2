# Exercise stubs: generated from solutions/ by `course build`; edit the function bodies marked 'not implemented yet'.
"""Activation functions: ReLU and softmax, written with NumPy.

A neural network is a stack of linear maps (convolutions, dense layers) with a
non-linear *activation* in between. Without the activations the whole stack would
collapse into a single linear map, however many layers it had.

* ``relu(x) = max(x, 0)`` keeps positive values and zeroes the rest. It is cheap,
  and its gradient is 1 for every positive input, so it does not shrink the
  signal the way a sigmoid does in deep networks. The CNN of this course uses it
  after the convolution and after the hidden dense layer.
* ``softmax`` turns a vector of scores ("logits") into a probability
  distribution: every entry becomes positive and the entries sum to 1. It is the
  last layer of the MNIST classifier, so the ten outputs read as the probability
  of each digit.

Both functions work element-wise on arrays of any shape; softmax normalises along
one axis (the class axis, by default the last one).
"""

from __future__ import annotations

import numpy as np


def relu(x: np.ndarray) -> np.ndarray:
    """Rectified linear unit, ``max(x, 0)`` element by element.

    Args:
        x: array-like of any shape with an integer or floating dtype (a Python
            list works too; it goes through ``np.asarray``). Booleans, strings,
            complex numbers and objects are rejected.

    Returns:
        A **new** array with the same shape and dtype as ``x``, where every
        negative entry is replaced by 0 and every other entry is kept. ``x``
        itself is never modified.

    Raises:
        TypeError: if ``x`` is not numeric (bool, str, complex, object, ...).

    Example:
        >>> relu(np.array([-2.0, 0.0, 3.5]))
        array([0. , 0. , 3.5])
    """
    raise NotImplementedError("relu: not implemented yet - read its docstring, then replace this line with your code")


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``.

    For a vector ``z`` of logits::

        softmax(z)_i = exp(z_i) / sum_j exp(z_j)

    **Why subtract the maximum.** ``exp`` overflows quickly: ``np.exp(1000.0)`` is
    ``inf`` in float64 (and float32 overflows past about 88), and ``inf / inf`` is
    ``nan``. Softmax does not change when the same constant ``c`` is subtracted
    from every logit, because ``exp(z_i - c) / sum_j exp(z_j - c)`` has the factor
    ``exp(-c)`` in both numerator and denominator. Choosing ``c = max(z)`` makes
    the largest exponent ``exp(0) = 1`` and every other one lie in ``(0, 1]``, so
    nothing overflows, and the denominator is at least 1, so nothing divides by 0.

    Args:
        logits: array-like of any shape with at least one dimension and at
            least one element; integer or floating dtype.
        axis: the axis that holds the classes (negative values count from the
            end, like NumPy). Each slice along this axis is normalised on its
            own.

    Returns:
        An array of the same shape as ``logits``; every slice along ``axis`` is
        positive and sums to 1. Floating input keeps its dtype; integer input
        gives float64.

    Raises:
        TypeError: if ``logits`` is not numeric, or ``axis`` is not an int.
        ValueError: if ``logits`` is empty or ``axis`` is out of range.

    Example:
        >>> softmax(np.array([1000.0, 1000.0]))
        array([0.5, 0.5])
    """
    raise NotImplementedError("softmax: not implemented yet - read its docstring, then replace this line with your code")
