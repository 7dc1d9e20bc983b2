"""Max pooling, written with NumPy.

A pooling layer shrinks a feature map by summarising each small window with one
number. *Max* pooling keeps the largest value of the window: "was this feature
detected anywhere in this little region?". That halves (for a 2x2 window with
stride 2) the height and width, so later layers are cheaper, and it makes the
network tolerant to small shifts of the input: moving a stroke by one pixel
often leaves the maximum of its window unchanged. Pooling has no weights to learn.

The window has ``pool_size x pool_size`` cells and moves ``stride`` cells at a
time (by default ``stride = pool_size``, so windows do not overlap). Each
channel is pooled on its own: channels are never mixed, unlike in a
convolution.

Example (2x2 windows, stride 2): the four windows of the image below are
``[[1, 20], [6, 9]]``, ``[[15, 3], [7, 2]]``, ``[[19, 4], [3, 8]]`` and
``[[25, 1], [0, 11]]``; their maxima are 20, 15, 19 and 25::

    >>> image = np.array([[ 1, 20, 15,  3],
    ...                   [ 6,  9,  7,  2],
    ...                   [19,  4, 25,  1],
    ...                   [ 3,  8,  0, 11]])
    >>> max_pool2d(image, pool_size=2)
    array([[20, 15],
           [19, 25]])

Padding works like in a convolution:

* ``"valid"``: only whole windows, ``Ho = (H - pool_size) // stride + 1``; rows
  or columns left over at the end are dropped.
* ``"same"``: ``Ho = ceil(H / stride)``; the image is padded with
  ``pad_total = max((Ho - 1) * stride + pool_size - H, 0)`` rows, ``pad_total // 2``
  above and the rest below (TensorFlow's split), and the same for columns. The
  padded cells must never win the maximum, so they hold the smallest possible
  value (``-inf`` for floats, the dtype's minimum for integers) rather than 0:
  with 0, a window of negative numbers would wrongly return 0.
"""

from __future__ import annotations

import math

import numpy as np

#: The padding modes understood by this module (compared case-insensitively).
PADDINGS: tuple[str, ...] = ("valid", "same")


def _check_positive_int(value: int, name: str, func: str) -> int:
    """Check that ``value`` is a positive int (bool and float rejected).

    Raises:
        TypeError: if ``value`` is not an int.
        ValueError: if ``value < 1``.
    """
    # BEGIN SOLUTION
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{func}: {name} must be a positive int, got {value!r} "
            f"of type {type(value).__name__}"
        )
    if value < 1:
        raise ValueError(f"{func}: {name} must be a positive int, got {value}")
    return int(value)
    # END SOLUTION


def _output_size_and_padding(
    size: int,
    pool_size: int,
    stride: int,
    padding: str,
    func: str,
    axis: str,
) -> tuple[int, int, int]:
    """Output length and padding ``(out_size, pad_before, pad_after)`` of one axis.

    * valid: ``((size - pool_size) // stride + 1, 0, 0)``;
    * same: ``out_size = ceil(size / stride)``,
      ``pad_total = max((out_size - 1) * stride + pool_size - size, 0)``,
      ``pad_before = pad_total // 2``, ``pad_after = pad_total - pad_before``.

    Raises:
        ValueError: for ``"valid"`` when the window is larger than the input.
    """
    # BEGIN SOLUTION
    if padding == "valid":
        if pool_size > size:
            raise ValueError(
                f"{func}: with padding='valid' the pooling window must fit "
                f"inside the image, got pool_size {pool_size} > image {axis} {size}"
            )
        return (size - pool_size) // stride + 1, 0, 0
    out_size = math.ceil(size / stride)
    pad_total = max((out_size - 1) * stride + pool_size - size, 0)
    pad_before = pad_total // 2
    return out_size, pad_before, pad_total - pad_before
    # END SOLUTION


def max_pool2d(
    image: np.ndarray,
    pool_size: int = 2,
    stride: int | None = None,
    padding: str = "valid",
) -> np.ndarray:
    """Max pooling of one image, each channel separately.

    ``out[i, j, c] = max_{0 <= a, b < pool_size} x[i * stride + a, j * stride + b, c]``

    where ``x`` is the image, padded with the smallest value of its dtype when
    ``padding="same"``.

    Args:
        image: array of shape ``(H, W)`` (one channel) or ``(H, W, C)``,
            integer or floating dtype.
        pool_size: positive int, the window is ``pool_size x pool_size``.
        stride: positive int, step between two windows; ``None`` (the default)
            means ``stride = pool_size``, non-overlapping windows.
        padding: ``"valid"`` or ``"same"`` (case-insensitive), see the module
            docstring for the output sizes.

    Returns:
        Array of shape ``(Ho, Wo)`` or ``(Ho, Wo, C)`` (the same number of
        dimensions as ``image``) with the same dtype as ``image``; taking a
        maximum never creates a new value, so no conversion is needed. The
        input is not modified.

    Raises:
        TypeError: non-numeric image, non-int pool_size/stride, non-str padding.
        ValueError: image not 2-D or 3-D, empty image, pool_size or stride
            < 1, unknown padding, or a window larger than the image with
            ``padding="valid"``.
    """
    # BEGIN SOLUTION
    func = "max_pool2d"
    image = np.asarray(image)
    if image.dtype == np.bool_ or not (
        np.issubdtype(image.dtype, np.integer)
        or np.issubdtype(image.dtype, np.floating)
    ):
        raise TypeError(
            f"{func}: image must have an integer or floating dtype, "
            f"got dtype {image.dtype}"
        )
    if image.ndim not in (2, 3):
        raise ValueError(
            f"{func}: image must be 2-D (H, W) or 3-D (H, W, C), "
            f"got shape {image.shape}"
        )
    if image.size == 0:
        raise ValueError(f"{func}: image must not be empty, got shape {image.shape}")
    pool_size = _check_positive_int(pool_size, "pool_size", func)
    if stride is None:
        stride = pool_size  # non-overlapping windows
    else:
        stride = _check_positive_int(stride, "stride", func)
    if not isinstance(padding, str):
        raise TypeError(
            f"{func}: padding must be a string ('valid' or 'same'), "
            f"got {type(padding).__name__}"
        )
    mode = padding.lower()
    if mode not in PADDINGS:
        raise ValueError(f"{func}: padding must be 'valid' or 'same', got {padding!r}")

    # Work on (H, W, C); a 2-D image is one channel.
    x = image[:, :, np.newaxis] if image.ndim == 2 else image
    height, width, _ = x.shape
    out_h, pad_top, pad_bottom = _output_size_and_padding(
        height, pool_size, stride, mode, func, "height"
    )
    out_w, pad_left, pad_right = _output_size_and_padding(
        width, pool_size, stride, mode, func, "width"
    )
    if pad_top or pad_bottom or pad_left or pad_right:
        if np.issubdtype(x.dtype, np.floating):
            lowest = -np.inf
        else:
            lowest = np.iinfo(x.dtype).min
        x = np.pad(
            x,
            ((pad_top, pad_bottom), (pad_left, pad_right), (0, 0)),
            mode="constant",
            constant_values=lowest,
        )

    out = np.empty((out_h, out_w, x.shape[2]), dtype=image.dtype)
    for i in range(out_h):
        for j in range(out_w):
            top, left = i * stride, j * stride
            window = x[top : top + pool_size, left : left + pool_size, :]
            out[i, j, :] = window.max(axis=(0, 1))  # one maximum per channel
    return out[:, :, 0] if image.ndim == 2 else out
    # END SOLUTION
