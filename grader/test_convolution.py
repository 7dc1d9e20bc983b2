"""Checks for ``convolution.py``: ``conv2d`` and ``conv2d_layer`` (19 points; 1 more
in ``test_convolution_hidden.py``, withheld from a student release).

Oracles: ``tf.nn.conv2d`` for one image and kernel, a real ``keras.layers.Conv2D`` given
the same weights for a batch. The hints come from running the typical mistakes
(flipped kernel, averaging, wrong 'same' split...) and seeing which one the answer equals.
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

MODULE = "convolution"

#: The worked example of the lesson: a vertical-edge kernel on a 5x5 image.
EXAMPLE_IMAGE = np.array(
    [[3, 0, 1, 2, 7], [1, 5, 8, 9, 3], [2, 7, 2, 5, 1], [0, 1, 3, 1, 7], [4, 2, 1, 6, 2]],
    dtype=np.float64,
)
EXAMPLE_KERNEL = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=np.float64)
EXAMPLE_OUTPUT = np.array([[-5, -4, 0], [-10, -2, 2], [0, -2, -4]], dtype=np.float64)


STRIDE_ROWS_ONLY = "the stride is applied to the rows only: step by `stride` along the columns too."
STRIDE_COLUMNS_ONLY = "the stride is applied to the columns only: step by `stride` along the rows too."
SAME_SPLIT_REVERSED = ("'same' padding is split the wrong way: TensorFlow puts the extra row/column of "
                       "padding at the bottom/right (before = total // 2).")


def conv2d_mistakes(image, kernel, stride, padding):
    """(output of a typical mistake, hint) pairs for ``conv2d``."""
    right = oracles.conv2d(image, kernel, stride, padding)
    mistakes = [
        (oracles.conv2d(image, kernel[::-1, ::-1], stride, padding),
         "your output equals a true convolution (kernel flipped): Keras's Conv2D does not flip "
         "the kernel, it slides it as is (cross-correlation)."),
        (right / kernel.size,
         "your output equals the mean of the products: a convolution sums them (no division)."),
        (oracles.conv2d(image, kernel, 1, padding),
         "your output is the stride-1 result: move the window by `stride` cells."),
        (oracles.conv2d(image, kernel, padding=padding, strides=(stride, 1)), STRIDE_ROWS_ONLY),
        (oracles.conv2d(image, kernel, padding=padding, strides=(1, stride)), STRIDE_COLUMNS_ONLY),
        (oracles.conv2d(image.T, kernel, stride, padding).T,
         "rows and columns are swapped: index the image as image[row, column]."),
        (oracles.conv2d(image, kernel.T, stride, padding),
         "the kernel is transposed: kernel[a, b] multiplies image[i + a, j + b]."),
        (right.T, "rows and columns are swapped: your output is transposed; out[i, j] is row i, column j."),
    ]
    if stride > 1:
        # The output size is right, but the window positions forget the stride (on one
        # axis or both): the first Ho x Wo positions of a smaller-stride pass.
        padded = _padded(image, kernel, stride, padding)
        for steps, hint in [((1, 1), "the window moves one cell per output position: the patch of "
                                     "out[i, j] starts at row i * stride, column j * stride."),
                            ((stride, 1), STRIDE_ROWS_ONLY), ((1, stride), STRIDE_COLUMNS_ONLY)]:
            crop = oracles.conv2d(padded, kernel, strides=steps)[:right.shape[0], :right.shape[1]]
            mistakes.append((crop, hint))
    if padding == "same":
        mistakes.append((_same_split_reversed(image, kernel, stride), SAME_SPLIT_REVERSED))
    if np.asarray(image).dtype.kind in "iu":
        mistakes.append((right.astype(np.asarray(image).dtype),
                         "your output has the image's integer dtype, so every sum was truncated (or wrapped "
                         "around): create the output with a float dtype, e.g. "
                         "np.zeros((Ho, Wo), dtype=np.result_type(image, kernel, np.float32))."))
    return mistakes


def _padded(image, kernel, stride, padding):
    """``image`` zero-padded as TensorFlow pads it for ``padding`` (unchanged for 'valid')."""
    if padding != "same":
        return np.asarray(image, np.float64)
    pads = [oracles.same_padding(image.shape[axis], kernel.shape[axis], stride) for axis in (0, 1)]
    return np.pad(np.asarray(image, np.float64), pads)


def _same_split_reversed(image, kernel, stride):
    (top, bottom), (left, right) = (
        oracles.same_padding(image.shape[axis], kernel.shape[axis], stride) for axis in (0, 1)
    )
    padded = np.pad(image, ((bottom, top), (right, left)))
    return oracles.conv2d(padded, kernel, stride, "valid")


def output_size_hint(padding, spatial_axes=(0, 1)):
    """``shape_hint`` for ``expect_close``: name an output that is one row/column off."""
    def hint(got, expected):
        if len(got) != len(expected) or any(g != e for axis, (g, e) in enumerate(zip(got, expected))
                                             if axis not in spatial_axes):
            return None
        diffs = {got[axis] - expected[axis] for axis in spatial_axes} - {0}
        formula = ("with 'valid' padding Ho = (H - kh) // stride + 1 (the + 1 counts the window's first "
                   "position)" if padding == "valid" else "with 'same' padding Ho = ceil(H / stride)")
        if diffs == {-1}:
            return f"the output has one row/column too few: {formula}."
        if diffs == {1}:
            return f"the output has one row/column too many: {formula}."
        return None
    return hint


def check_conv2d(student, image, kernel, stride=1, padding="valid"):
    """conv2d must equal tf.nn.conv2d on these inputs, and not touch them."""
    __tracebackhide__ = True
    kwargs = {"stride": stride, "padding": padding}
    reply = student_call(student, MODULE, "conv2d", image, kernel, **kwargs)
    expected = oracles.conv2d(image, kernel, stride, padding)
    mistakes = conv2d_mistakes(image, kernel, stride, padding)
    result = expect_close(reply["result"], expected, reply["what"], mistakes=mistakes,
                          type_name=reply["type"], rtol=1e-4, atol=1e-4, shape_hint=output_size_hint(padding),
                          pictures=Pictures(image))
    if result.shape != expected.shape:
        return
    expect_untouched(reply)
    return result


@pytest.mark.points(2)
def test_conv2d_lesson_example(student):
    """conv2d reproduces the lesson's worked example (5x5 image, 3x3 edge kernel)"""
    check_conv2d(student, EXAMPLE_IMAGE, EXAMPLE_KERNEL)
    # The oracle agrees with the numbers printed in the lesson.
    assert np.array_equal(oracles.conv2d(EXAMPLE_IMAGE, EXAMPLE_KERNEL), EXAMPLE_OUTPUT)


@pytest.mark.points(2)
def test_conv2d_valid_random(student, rng):
    """conv2d 'valid' matches tf.nn.conv2d on random non-square images and kernels"""
    for shape, kshape in [((6, 9), (3, 3)), ((11, 7), (2, 4)), ((8, 8), (5, 1))]:
        check_conv2d(student, rng.normal(size=shape), rng.normal(size=kshape))


@pytest.mark.points(3)
def test_conv2d_stride(student, rng):
    """conv2d with stride > 1 matches tf.nn.conv2d (output size (H - kh) // stride + 1)"""
    for stride, shape, kshape in [(2, (9, 12), (3, 3)), (3, (10, 8), (2, 3))]:
        check_conv2d(student, rng.normal(size=shape), rng.normal(size=kshape), stride=stride)


@pytest.mark.points(3)
def test_conv2d_same(student, rng):
    """conv2d 'same' matches tf.nn.conv2d, including even kernels and stride > 1"""
    cases = [(1, (7, 9), (3, 3)), (1, (6, 5), (4, 2)), (2, (9, 10), (3, 3)), (3, (11, 7), (4, 4))]
    for stride, shape, kshape in cases:
        check_conv2d(student, rng.normal(size=shape), rng.normal(size=kshape), stride=stride, padding="same")


@pytest.mark.points(1)
def test_conv2d_integer_image(student):
    """conv2d of a uint8 image with a fractional kernel returns exact floats"""
    image = np.arange(48, dtype=np.uint8).reshape(6, 8) * 5
    kernel = np.array([[0.5, -0.25], [0.125, 1.0]])
    result = check_conv2d(student, image, kernel)
    if result is not None and result.dtype.kind != "f":
        fail("conv2d(uint8 image, float kernel)", f"returned dtype {result.dtype}, expected a float dtype",
             "an output array made with np.zeros_like(image) keeps the integer dtype; use a float dtype.")


def layer_mistakes(images, kernels, biases, stride, padding):
    right = oracles.conv2d_layer(images, kernels, biases, stride, padding)
    kh, kw, channels_in, channels_out = kernels.shape
    # Patches flattened as sliding_window_view lays them out, (Cin, kh, kw), against
    # kernels flattened as stored, (kh, kw, Cin): which kernel weight meets which cell.
    misordered = kernels.reshape(-1, channels_out).reshape(channels_in, kh, kw, channels_out).transpose(1, 2, 0, 3)
    mistakes = [
        (right - biases, "the biases are missing: add biases[o] to every pixel of output channel o."),
        (oracles.conv2d_layer(images, kernels[::-1, ::-1], biases, stride, padding),
         "the kernels are flipped: Keras's Conv2D is a cross-correlation, it does not flip them."),
        (right - biases + biases.sum(),
         "every output channel gets the sum of all biases: add biases[o] to channel o only."),
        (right + (channels_in - 1) * biases,
         "the bias is added once per input channel: sum the products over all input channels first, "
         "then add biases[o] once."),
        (oracles.conv2d_layer(images, misordered, biases, stride, padding),
         "the patches and the kernels were flattened in different orders: sliding_window_view puts the "
         "window axes last, (N, Ho, Wo, Cin, kh, kw), while kernels are (kh, kw, Cin, Cout), so the "
         "channels met the wrong weights; bring both into the same axis order before reshaping."),
    ]
    if padding == "same":
        pads = [(0, 0)] + [oracles.same_padding(images.shape[axis], kernels.shape[axis - 1], stride)[::-1]
                           for axis in (1, 2)] + [(0, 0)]
        mistakes.append((oracles.conv2d_layer(np.pad(images, pads), kernels, biases, stride, "valid"),
                         SAME_SPLIT_REVERSED))
    if kernels.shape[2] == kernels.shape[3]:
        mistakes.append((oracles.conv2d_layer(images, kernels.transpose(0, 1, 3, 2), biases, stride, padding),
                         "input and output channels are swapped: kernels[a, b, c, o] maps input "
                         "channel c to output channel o."))
    return mistakes


def check_layer(student, images, kernels, biases, stride=1, padding="valid"):
    __tracebackhide__ = True
    reply = student_call(student, MODULE, "conv2d_layer", images, kernels, biases, stride=stride, padding=padding)
    expected = oracles.conv2d_layer(images, kernels, biases, stride, padding)
    expect_close(reply["result"], expected, reply["what"], type_name=reply["type"], rtol=1e-4, atol=1e-4,
                 mistakes=layer_mistakes(images, kernels, biases, stride, padding),
                 shape_hint=output_size_hint(padding, spatial_axes=(1, 2)),
                 pictures=Pictures(images, (0, ..., 0), f"image 1 of {len(images)}, channel 1"))
    expect_untouched(reply)


@pytest.mark.points(4)
def test_conv2d_layer_matches_keras(student, rng):
    """conv2d_layer equals a real keras Conv2D with the same kernels and biases"""
    for cin, cout in [(1, 4), (3, 3), (2, 5)]:
        images = rng.normal(size=(2, 7, 9, cin))
        check_layer(student, images, rng.normal(size=(3, 2, cin, cout)), rng.normal(size=cout))


@pytest.mark.points(2)
def test_conv2d_layer_stride_padding(student, rng):
    """conv2d_layer with stride and 'same' padding equals keras Conv2D"""
    for stride, padding in [(2, "valid"), (2, "same"), (1, "same")]:
        images = rng.normal(size=(3, 9, 8, 2))
        check_layer(student, images, rng.normal(size=(3, 3, 2, 3)), rng.normal(size=3), stride, padding)


BAD_CONV2D_CALLS = [
    ("a 3-D image", (np.zeros((4, 4, 1)), np.ones((2, 2))), {}),
    ("a 1-D kernel", (np.zeros((4, 4)), np.ones(3)), {}),
    ("a kernel larger than the image", (np.zeros((3, 3)), np.ones((4, 4))), {}),
    ("stride 0", (np.zeros((5, 5)), np.ones((2, 2))), {"stride": 0}),
    ("stride 1.5", (np.zeros((5, 5)), np.ones((2, 2))), {"stride": 1.5}),
    ("padding 'full'", (np.zeros((5, 5)), np.ones((2, 2))), {"padding": "full"}),
    ("text instead of an image", ("image", np.ones((2, 2))), {}),
]


@pytest.mark.points(1)
def test_conv2d_rejects_bad_input(student):
    """conv2d rejects bad input with a ValueError/TypeError that explains it"""
    for _, args, kwargs in BAD_CONV2D_CALLS:
        student_raises(student, MODULE, "conv2d", *args, **kwargs)


BAD_LAYER_CALLS = [
    ("channel mismatch", (np.zeros((1, 5, 5, 2)), np.ones((3, 3, 3, 4)), np.zeros(4)), {}),
    ("biases of the wrong length", (np.zeros((1, 5, 5, 2)), np.ones((3, 3, 2, 4)), np.zeros(3)), {}),
    ("3-D images", (np.zeros((5, 5, 2)), np.ones((3, 3, 2, 4)), np.zeros(4)), {}),
    ("padding 'SAME!'", (np.zeros((1, 5, 5, 2)), np.ones((3, 3, 2, 4)), np.zeros(4)), {"padding": "SAME!"}),
]


@pytest.mark.points(1)
def test_conv2d_layer_rejects_bad_input(student):
    """conv2d_layer rejects bad input with a ValueError/TypeError that explains it"""
    for _, args, kwargs in BAD_LAYER_CALLS:
        student_raises(student, MODULE, "conv2d_layer", *args, **kwargs)
