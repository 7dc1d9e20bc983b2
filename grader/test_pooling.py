"""Checks for ``pooling.py``: ``max_pool2d`` (9 points; 1 more in
``test_pooling_hidden.py``, withheld from a student release).

Oracle: ``tf.nn.max_pool2d`` on one image, each channel separately. The hints come
from running the typical mistakes (averaging, stride 1, channels pooled together,
partial windows kept, zero padding...) and seeing which one the answer equals.
"""

import numpy as np
import pytest

from grader.checking import oracles
from grader.checking.expectations import (
    Pictures,
    expect_close,
    expect_untouched,
    fail,
    student_call,
    student_raises,
)

MODULE = "pooling"

#: The worked example of the lesson: 2x2 windows with stride 2 on a 4x4 image.
LESSON_IMAGE = np.array([[1, 20, 15, 3], [6, 9, 7, 2], [19, 4, 25, 1], [3, 8, 0, 11]])
LESSON_OUTPUT = np.array([[20, 15], [19, 25]])


def _pad_then_pool(image, pads, pool_size, stride, fill):
    """Pool ``image`` padded with ``fill`` by ((top, bottom), (left, right)), 'valid'."""
    image = np.asarray(image, np.float64)
    widths = list(pads) + [(0, 0)] * (image.ndim - 2)
    return oracles.max_pool2d(np.pad(image, widths, constant_values=fill), pool_size, stride, "valid")


def _same_pads(image, pool_size, stride):
    return [oracles.same_padding(image.shape[axis], pool_size, stride) for axis in (0, 1)]


def _partial_window_pads(image, pool_size, stride):
    """Padding at the end that keeps a last, partial window in 'valid' mode."""
    pads = []
    for size in image.shape[:2]:
        windows = -(-(size - pool_size) // stride) + 1
        pads.append((0, (windows - 1) * stride + pool_size - size))
    return pads


AVERAGE_HINT = "your output is the average of each window: max pooling keeps the largest value (window.max())."


def _window_mean(image, pool_size, step, padding):
    """What averaging each window gives, written like the max-pooling loop: padding with the
    lowest value, the mean stored in the image's dtype (truncated for integers)."""
    array = np.asarray(image)
    x = array[:, :, None] if array.ndim == 2 else array
    lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    pads = _same_pads(x, pool_size, step) if padding == "same" else [(0, 0), (0, 0)]
    x = np.pad(x.astype(np.float64), [*pads, (0, 0)], constant_values=lowest)
    if min(x.shape[:2]) < pool_size:
        return np.zeros(0)  # no whole window: matches nothing
    windows = np.lib.stride_tricks.sliding_window_view(x, (pool_size, pool_size), axis=(0, 1))[::step, ::step]
    with np.errstate(all="ignore"):
        out = windows.mean(axis=(3, 4))
        if array.dtype.kind in "iu":
            out = np.trunc(out)
    return out[:, :, 0] if array.ndim == 2 else out


def pool_mistakes(image, pool_size=2, stride=None, padding="valid"):
    """(output of a typical mistake, hint) pairs for ``max_pool2d``."""
    step = stride or pool_size
    right = oracles.max_pool2d(image, pool_size, stride, padding)
    mistakes = [
        (oracles.avg_pool2d(image, pool_size, stride, padding), AVERAGE_HINT),
        (_window_mean(image, pool_size, step, padding), AVERAGE_HINT),
        (-oracles.max_pool2d(-np.asarray(image, np.float64), pool_size, stride, padding),
         "your output is the smallest value of each window: max pooling keeps the largest."),
        (np.swapaxes(right, 0, 1), "your output is transposed: out[i, j] is output row i, column j."),
    ]
    if step != 1:
        mistakes.append((oracles.max_pool2d(image, pool_size, 1, padding),
                         "stride 1 by default: with stride=None the window moves pool_size cells "
                         "(stride = pool_size, non-overlapping windows)." if stride is None else
                         "your output is the stride-1 result: move the window by `stride` cells."))
    if stride is not None and stride != pool_size:
        mistakes += [
            (oracles.max_pool2d(image, pool_size, pool_size, padding),
             "the stride argument was ignored: the window moves `stride` cells, not pool_size."),
            (oracles.max_pool2d(image, stride, stride, padding),
             "the window size follows the stride: the window is pool_size x pool_size, it moves `stride` cells."),
        ]
    if np.ndim(image) == 3:
        together = right.max(axis=2)
        mistakes += [
            (together, "there is one output channel instead of C: pool each channel separately "
                       "(out[i, j, c] = max of window[:, :, c])."),
            (np.repeat(together[:, :, None], right.shape[2], axis=2),
             "every channel holds the same maximum: the channels were pooled together; take the max "
             "over the window's rows and columns only (window.max(axis=(0, 1)))."),
        ]
    if padding == "valid":
        mistakes.append((_pad_then_pool(image, _partial_window_pads(image, pool_size, step), pool_size, step, -np.inf),
                         "'valid' pooling drops the last partial window: Ho = (H - pool_size) // stride + 1."))
        dropped = ("the last whole window of a row or column was dropped: 'valid' pooling has "
                   "Ho = (H - pool_size) // stride + 1 windows (the + 1 counts the first one).")
        mistakes += [(right[:-1], dropped), (right[:, :-1], dropped), (right[:-1, :-1], dropped)]
    else:
        pads = _same_pads(image, pool_size, step)
        mistakes += [
            (oracles.max_pool2d(image, pool_size, stride, "valid"),
             "padding='same' was ignored: pad so that Ho = ceil(H / stride)."),
            (_pad_then_pool(image, pads, pool_size, step, 0.0),
             "the padding holds 0, which wins over negative values: pad with -inf (or the dtype's "
             "minimum for integers) so that padded cells never win the maximum."),
            (_pad_then_pool(image, [pad[::-1] for pad in pads], pool_size, step, -np.inf),
             "'same' padding is split the wrong way: TensorFlow puts the extra row/column of padding "
             "at the bottom/right (before = total // 2)."),
        ]
    return mistakes


def check_pool(student, image, **kwargs):
    """max_pool2d(image, **kwargs) must equal tf.nn.max_pool2d; returns the reply."""
    __tracebackhide__ = True
    reply = student_call(student, MODULE, "max_pool2d", image, **kwargs)
    expected = oracles.max_pool2d(image, **kwargs)
    channels = np.ndim(image) == 3
    pictures = Pictures(image, (..., 0), f"channel 1 of {np.shape(image)[2]}") if channels else Pictures(image)
    expect_close(reply["result"], expected, reply["what"], mistakes=pool_mistakes(image, **kwargs),
                 type_name=reply["type"], rtol=0, atol=0, pictures=pictures)
    return reply


@pytest.mark.points(1)
def test_pool_lesson_example(student):
    """max_pool2d reproduces the lesson's 4x4 example: 2x2 windows, stride 2 -> [[20, 15], [19, 25]]"""
    check_pool(student, LESSON_IMAGE, pool_size=2, stride=2)
    # The oracle agrees with the numbers printed in the lesson.
    assert np.array_equal(oracles.max_pool2d(LESSON_IMAGE, 2, 2), LESSON_OUTPUT)


@pytest.mark.points(1)
def test_pool_valid_random(student, rng):
    """max_pool2d 'valid' matches tf.nn.max_pool2d on random non-square and odd-sized images"""
    for shape, pool_size in [((6, 8), 2), ((7, 9), 2), ((11, 7), 3), ((5, 10), 4)]:
        check_pool(student, rng.normal(size=shape), pool_size=pool_size, stride=pool_size)


@pytest.mark.points(2)
def test_pool_channels(student, rng):
    """max_pool2d pools each channel of an (H, W, C) image separately"""
    for shape, pool_size, stride in [((6, 8, 3), 2, 2), ((8, 6, 2), 2, 2), ((9, 6, 4), 3, 3)]:
        check_pool(student, rng.normal(size=shape), pool_size=pool_size, stride=stride)


@pytest.mark.points(1)
def test_pool_default_stride(student, rng):
    """max_pool2d's stride defaults to pool_size (non-overlapping windows)"""
    check_pool(student, rng.normal(size=(8, 10)))
    check_pool(student, rng.normal(size=(9, 12)), pool_size=3)


@pytest.mark.points(1)
def test_pool_explicit_stride(student, rng):
    """max_pool2d with a stride different from pool_size (overlapping windows and gaps)"""
    for shape, pool_size, stride in [((9, 8), 3, 2), ((10, 11), 2, 3), ((7, 8), 2, 1)]:
        check_pool(student, rng.normal(size=shape), pool_size=pool_size, stride=stride)


@pytest.mark.points(1)
def test_pool_same_padding(student, rng):
    """max_pool2d 'same' matches tf.nn.max_pool2d (output ceil(H / stride), negative values too)"""
    images = [rng.normal(size=shape) - 3.0 for shape in [(7, 9), (8, 8), (5, 5), (6, 7), (5, 6, 3)]]
    images.append(rng.integers(-90, -10, size=(5, 7, 2)).astype(np.int32))  # integer padding
    strides = [(2, 2), (3, 2), (2, 1), (3, 3), (2, 2), (2, 2)]
    for image, (pool_size, stride) in zip(images, strides):  # all negative: padding must never win
        check_pool(student, image, pool_size=pool_size, stride=stride, padding="same")


@pytest.mark.points(1)
def test_pool_keeps_dtype_and_input(student, rng):
    """max_pool2d keeps the image's dtype (int stays int) and does not modify the image"""
    cases = [
        LESSON_IMAGE.astype(np.uint8),
        rng.integers(-50, 50, size=(6, 8)).astype(np.int32),
        rng.normal(size=(6, 6)).astype(np.float32),
    ]
    for image in cases:
        reply = check_pool(student, image, pool_size=2, stride=2)
        expect_untouched(reply)
        if reply["result"].dtype != image.dtype:
            fail(reply["what"], f"expected dtype {image.dtype} (the image's), got {reply['result'].dtype}",
                 "the maximum of a window is one of its values, so keep the image's dtype: "
                 "create the output with np.empty(shape, dtype=image.dtype) (np.zeros(shape) is float64).")


BAD_POOL_CALLS = [
    ("a 4-D batch instead of one image", (np.zeros((1, 4, 4, 1)),), {}),
    ("pool_size 0", (np.zeros((4, 4)),), {"pool_size": 0}),
    ("stride 0", (np.zeros((4, 4)),), {"stride": 0}),
    ("padding 'full'", (np.zeros((4, 4)),), {"padding": "full"}),
    ("a window larger than the image", (np.zeros((3, 3)),), {"pool_size": 4}),
    ("text instead of an image", ("image",), {}),
]


@pytest.mark.points(1)
def test_pool_rejects_bad_input(student):
    """max_pool2d rejects bad input with a ValueError/TypeError that explains it"""
    for _, args, kwargs in BAD_POOL_CALLS:
        student_raises(student, MODULE, "max_pool2d", *args, **kwargs)
