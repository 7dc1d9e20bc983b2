"""2-D convolution, the operation behind a ``Conv2D`` layer, written with NumPy.

A convolutional layer slides a small grid of weights (the *kernel*, or filter)
over the image. At every position it multiplies the kernel with the patch of
pixels underneath, element by element, and adds the products up. The sums form
a new image, the *feature map*: large where the patch looks like the kernel
(an edge, a corner, a stroke of a digit), small elsewhere. Because the same few
weights are reused at every position, a conv layer has far fewer parameters than
a dense layer and finds a pattern wherever it appears.

**Convolution or cross-correlation?** In mathematics, convolution flips the
kernel (``out[i, j] = sum x[i - a, j - b] * k[a, b]``). Deep-learning libraries,
Keras's ``Conv2D`` and ``tf.nn.conv2d`` included, do not flip it: they compute
the *cross-correlation* ``out[i, j] = sum x[i + a, j + b] * k[a, b]`` and still
call it convolution. For a learned kernel the difference does not matter (the
network simply learns the flipped weights), but to reproduce TensorFlow's numbers
we must not flip either.

**Stride** ``s`` is the step between two kernel positions: ``s = 2`` computes
every second position and roughly halves each side of the output.

**Padding** decides what happens at the borders:

* ``"valid"``: no padding; the kernel only visits positions where it fits
  entirely inside the image. Output size ``Ho = (H - kh) // s + 1``.
* ``"same"``: zeros are added around the image so that the output has
  ``Ho = ceil(H / s)`` rows ("the same size" as the input when ``s = 1``). The
  number of padded rows is ``pad_total = max((Ho - 1) * s + kh - H, 0)``;
  TensorFlow puts ``pad_top = pad_total // 2`` rows above and the rest,
  ``pad_bottom = pad_total - pad_top``, below. When ``pad_total`` is odd the
  extra row therefore goes to the bottom. Columns are padded the same way
  (left/right).

This module has two versions: ``conv2d`` works on one grey image with one kernel
using plain loops, so each step is visible; ``conv2d_layer`` does what a real
``Conv2D`` layer does (a batch of images, several input and output channels,
a bias per output channel) with vectorised NumPy.
"""

from __future__ import annotations

import math

import numpy as np

#: The padding modes understood by this module (compared case-insensitively).
PADDINGS: tuple[str, ...] = ("valid", "same")


def _as_numeric_array(value: object, name: str, func: str) -> np.ndarray:
    """Return ``value`` as a NumPy array, checking that it holds numbers.

    Args:
        value: anything ``np.asarray`` accepts.
        name: the argument's name, used in the error message.
        func: the public function's name, used in the error message.

    Raises:
        TypeError: if the dtype is not integer or floating (bool is rejected).
    """
    # BEGIN SOLUTION
    array = np.asarray(value)
    if array.dtype == np.bool_ or not (
        np.issubdtype(array.dtype, np.integer)
        or np.issubdtype(array.dtype, np.floating)
    ):
        raise TypeError(
            f"{func}: {name} must have an integer or floating dtype, "
            f"got dtype {array.dtype}"
        )
    return array
    # END SOLUTION


def _check_stride(stride: int, func: str) -> int:
    """Check that ``stride`` is a positive integer and return it as ``int``.

    Raises:
        TypeError: if ``stride`` is not an int (``True``/``False`` and floats
            such as ``2.0`` are rejected).
        ValueError: if ``stride < 1``.
    """
    # BEGIN SOLUTION
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)):
        raise TypeError(
            f"{func}: stride must be a positive int, got {stride!r} "
            f"of type {type(stride).__name__}"
        )
    if stride < 1:
        raise ValueError(f"{func}: stride must be a positive int, got {stride}")
    return int(stride)
    # END SOLUTION


def _check_padding(padding: str, func: str) -> str:
    """Check ``padding`` and return it in lower case (``"valid"`` or ``"same"``).

    Raises:
        TypeError: if ``padding`` is not a string.
        ValueError: if it is not ``"valid"`` or ``"same"`` (any letter case).
    """
    # BEGIN SOLUTION
    if not isinstance(padding, str):
        raise TypeError(
            f"{func}: padding must be a string ('valid' or 'same'), "
            f"got {type(padding).__name__}"
        )
    mode = padding.lower()
    if mode not in PADDINGS:
        raise ValueError(
            f"{func}: padding must be 'valid' or 'same', got {padding!r}"
        )
    return mode
    # END SOLUTION


def _output_size_and_padding(
    size: int,
    kernel_size: int,
    stride: int,
    padding: str,
    func: str,
    axis: str,
) -> tuple[int, int, int]:
    """Output length and padding for one spatial axis (height or width).

    Args:
        size: input length along the axis (``H`` or ``W``).
        kernel_size: kernel length along the axis (``kh`` or ``kw``).
        stride: step between two kernel positions (already checked).
        padding: ``"valid"`` or ``"same"`` (already lower-cased).
        func: the public function's name, for error messages.
        axis: ``"height"`` or ``"width"``, for error messages.

    Returns:
        ``(out_size, pad_before, pad_after)``:

        * valid: ``((size - kernel_size) // stride + 1, 0, 0)``;
        * same: ``out_size = ceil(size / stride)``,
          ``pad_total = max((out_size - 1) * stride + kernel_size - size, 0)``,
          ``pad_before = pad_total // 2``, ``pad_after = pad_total - pad_before``.

    Raises:
        ValueError: for ``"valid"`` when the kernel is larger than the input.
    """
    # BEGIN SOLUTION
    if padding == "valid":
        if kernel_size > size:
            raise ValueError(
                f"{func}: with padding='valid' the kernel must fit inside the "
                f"image, got kernel {axis} {kernel_size} > image {axis} {size}"
            )
        return (size - kernel_size) // stride + 1, 0, 0
    out_size = math.ceil(size / stride)
    pad_total = max((out_size - 1) * stride + kernel_size - size, 0)
    pad_before = pad_total // 2  # TensorFlow: the odd extra row/column goes last
    return out_size, pad_before, pad_total - pad_before
    # END SOLUTION


def conv2d(
    image: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: str = "valid"
) -> np.ndarray:
    """Cross-correlate one 2-D image with one 2-D kernel (no bias, no channels).

    ``out[i, j] = sum_{a, b} x[i * stride + a, j * stride + b] * kernel[a, b]``

    where ``x`` is the image, zero-padded first when ``padding="same"``. The
    kernel is **not** flipped (this is what Keras calls convolution), and the
    products are summed, not averaged.

    Args:
        image: array of shape ``(H, W)``, integer or floating dtype.
        kernel: array of shape ``(kh, kw)``, integer or floating dtype.
        stride: positive int, the step between two kernel positions, in both
            directions.
        padding: ``"valid"`` (no padding) or ``"same"`` (zero padding, split
            like TensorFlow), case-insensitive.

    Returns:
        Array of shape ``(Ho, Wo)`` with

        * valid: ``Ho = (H - kh) // stride + 1``, ``Wo = (W - kw) // stride + 1``;
        * same: ``Ho = ceil(H / stride)``, ``Wo = ceil(W / stride)``.

        Its dtype is ``np.result_type(image.dtype, kernel.dtype, np.float32)``,
        always floating, so a ``uint8`` image does not overflow or get
        truncated (``uint8`` with ``float32`` gives ``float32``; ``int64``
        gives ``float64``). The inputs are not modified.

    Raises:
        TypeError: non-numeric image/kernel, non-int stride, non-str padding.
        ValueError: wrong number of dimensions, empty image or kernel,
            stride < 1, unknown padding, or a kernel larger than the image with
            ``padding="valid"``.

    Example:
        >>> conv2d(np.arange(9).reshape(3, 3), np.array([[1, 0], [0, -1]]))
        array([[-4., -4.],
               [-4., -4.]])
    """
    # BEGIN SOLUTION
    image = _as_numeric_array(image, "image", "conv2d")
    kernel = _as_numeric_array(kernel, "kernel", "conv2d")
    if image.ndim != 2:
        raise ValueError(
            f"conv2d: image must be 2-D (H, W), got shape {image.shape}"
        )
    if kernel.ndim != 2:
        raise ValueError(
            f"conv2d: kernel must be 2-D (kh, kw), got shape {kernel.shape}"
        )
    if image.size == 0:
        raise ValueError(f"conv2d: image must not be empty, got shape {image.shape}")
    if kernel.size == 0:
        raise ValueError(
            f"conv2d: kernel must not be empty, got shape {kernel.shape}"
        )
    stride = _check_stride(stride, "conv2d")
    padding = _check_padding(padding, "conv2d")

    height, width = image.shape
    kh, kw = kernel.shape
    out_h, pad_top, pad_bottom = _output_size_and_padding(
        height, kh, stride, padding, "conv2d", "height"
    )
    out_w, pad_left, pad_right = _output_size_and_padding(
        width, kw, stride, padding, "conv2d", "width"
    )

    dtype = np.result_type(image.dtype, kernel.dtype, np.float32)
    # np.pad returns a new array, so the caller's image is never modified.
    x = np.pad(
        image.astype(dtype),
        ((pad_top, pad_bottom), (pad_left, pad_right)),
        mode="constant",
        constant_values=0,
    )
    k = kernel.astype(dtype)

    out = np.zeros((out_h, out_w), dtype=dtype)
    for i in range(out_h):
        for j in range(out_w):
            top, left = i * stride, j * stride
            patch = x[top : top + kh, left : left + kw]  # same shape as the kernel
            out[i, j] = np.sum(patch * k)  # multiply element-wise, then add up
    return out
    # END SOLUTION


def conv2d_layer(
    images: np.ndarray,
    kernels: np.ndarray,
    biases: np.ndarray,
    stride: int = 1,
    padding: str = "valid",
) -> np.ndarray:
    """Forward pass of a ``Conv2D`` layer (without activation) on a batch.

    ``out[n, i, j, o] = sum_{a, b, c} x[n, i*s + a, j*s + b, c] * kernels[a, b, c, o]
    + biases[o]``

    where ``x`` is ``images`` zero-padded on the height and width axes when
    ``padding="same"`` and ``s`` is the stride. Each output channel ``o`` has
    its own 3-D kernel ``kernels[:, :, :, o]`` that spans **all** input channels,
    so one output value mixes every input channel of a ``kh x kw`` patch. This
    is exactly what ``tf.nn.conv2d`` and ``keras.layers.Conv2D`` compute (Keras
    stores the layer's weights as ``[kernels, biases]`` in these same shapes,
    "channels last").

    Args:
        images: array of shape ``(N, H, W, Cin)``.
        kernels: array of shape ``(kh, kw, Cin, Cout)``.
        biases: array of shape ``(Cout,)``.
        stride: positive int, the same step along height and width.
        padding: ``"valid"`` or ``"same"``, case-insensitive, with the same
            output sizes and TensorFlow padding split as :func:`conv2d`.

    Returns:
        Array of shape ``(N, Ho, Wo, Cout)``, dtype
        ``np.result_type(images, kernels, biases, np.float32)``.

    Raises:
        TypeError: non-numeric arrays, non-int stride, non-str padding.
        ValueError: wrong number of dimensions, ``Cin`` of images and kernels
            differ, ``biases`` not of shape ``(Cout,)``, empty spatial size,
            stride < 1, unknown padding, or a kernel larger than the image with
            ``padding="valid"``.
    """
    # BEGIN SOLUTION
    func = "conv2d_layer"
    images = _as_numeric_array(images, "images", func)
    kernels = _as_numeric_array(kernels, "kernels", func)
    biases = _as_numeric_array(biases, "biases", func)
    if images.ndim != 4:
        raise ValueError(
            f"{func}: images must be 4-D (N, H, W, Cin), got shape {images.shape}"
        )
    if kernels.ndim != 4:
        raise ValueError(
            f"{func}: kernels must be 4-D (kh, kw, Cin, Cout), "
            f"got shape {kernels.shape}"
        )
    kh, kw, c_in, c_out = kernels.shape
    if images.shape[3] != c_in:
        raise ValueError(
            f"{func}: images have {images.shape[3]} channel(s) but kernels "
            f"expect Cin={c_in} (images shape {images.shape}, kernels shape "
            f"{kernels.shape})"
        )
    if biases.shape != (c_out,):
        raise ValueError(
            f"{func}: biases must have shape (Cout,) = ({c_out},), "
            f"got shape {biases.shape}"
        )
    if min(images.shape[1:3]) == 0 or kh == 0 or kw == 0:
        raise ValueError(
            f"{func}: images and kernels need a non-zero height and width, got "
            f"images shape {images.shape}, kernels shape {kernels.shape}"
        )
    stride = _check_stride(stride, func)
    padding = _check_padding(padding, func)

    _, height, width, _ = images.shape
    out_h, pad_top, pad_bottom = _output_size_and_padding(
        height, kh, stride, padding, func, "height"
    )
    out_w, pad_left, pad_right = _output_size_and_padding(
        width, kw, stride, padding, func, "width"
    )

    dtype = np.result_type(images.dtype, kernels.dtype, biases.dtype, np.float32)
    x = np.pad(
        images.astype(dtype),
        ((0, 0), (pad_top, pad_bottom), (pad_left, pad_right), (0, 0)),
        mode="constant",
    )
    # Every kh x kw patch at once, as a view: shape (N, H', W', Cin, kh, kw).
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    # Keep the patches the stride visits: shape (N, Ho, Wo, Cin, kh, kw).
    windows = windows[:, : out_h * stride : stride, : out_w * stride : stride]
    # Sum over (kh, kw, Cin) of patch * kernel for every output channel.
    out = np.tensordot(windows, kernels.astype(dtype), axes=([4, 5, 3], [0, 1, 2]))
    return out + biases.astype(dtype)
    # END SOLUTION
