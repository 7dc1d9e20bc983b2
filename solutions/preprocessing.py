"""Preparing MNIST for training: scale, reshape, encode labels, batch.

``keras.datasets.mnist.load_data()`` gives ``uint8`` images of shape
``(N, 28, 28)`` with pixel values 0 (black) to 255 (white) and ``uint8`` labels
0..9 of shape ``(N,)``. Before a network sees them:

* **Normalise** the pixels to floats in ``[0, 1]``. Networks train best on
  small inputs of similar scale; raw values up to 255 would make the first
  layer's pre-activations huge and the gradients badly scaled.
* **Add a channel axis** for convolutions: ``Conv2D`` expects
  ``(N, H, W, channels)`` ("channels last"), and a grey image has one channel,
  so ``(N, 28, 28)`` becomes ``(N, 28, 28, 1)``.
* **One-hot encode** the labels when a loss needs probability vectors
  (``categorical_crossentropy``): label 3 becomes ``[0, 0, 0, 1, 0, ..., 0]``.
  With the *sparse* losses used in this course, the integer labels are used
  directly; one-hot encoding shows what "sparse" saves you.
* **Batch and shuffle** with ``tf.data``: the model is trained on small batches
  (32 images by default), in a new random order every epoch so that the
  gradient steps do not follow the same sequence each time. The test set is
  only evaluated, so its order does not matter and it is kept as is.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

#: The largest pixel value of an 8-bit grey image.
MAX_PIXEL_VALUE: float = 255.0


def _as_numeric_array(value: object, name: str, func: str) -> np.ndarray:
    """Return ``value`` as a NumPy array; ``TypeError`` unless int/float dtype.

    Booleans, strings, complex numbers and objects are rejected.
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


def normalize(images: np.ndarray) -> np.ndarray:
    """Scale pixel values from ``0..255`` to ``float32`` in ``[0, 1]``.

    ``out = images / 255``

    Args:
        images: array of any shape (typically ``(N, 28, 28)`` ``uint8``) of
            pixel values between 0 and 255; integer or floating dtype.

    Returns:
        A new ``float32`` array of the same shape with values in ``[0, 1]``
        (0 stays 0, 255 becomes exactly 1). ``images`` is not modified: the
        division produces a new array instead of working in place.

    Raises:
        TypeError: if ``images`` is not numeric.
        ValueError: if a value lies outside ``[0, 255]`` (or is NaN), which
            usually means the images were already normalised once.
    """
    # BEGIN SOLUTION
    images = _as_numeric_array(images, "images", "normalize")
    in_range = (images >= 0) & (images <= MAX_PIXEL_VALUE)  # False for NaN
    if not np.all(in_range):
        bad = images[~in_range].flat[0]
        raise ValueError(
            f"normalize: images must hold pixel values in [0, 255], "
            f"found {bad} (were they normalised already?)"
        )
    return images.astype(np.float32) / np.float32(MAX_PIXEL_VALUE)
    # END SOLUTION


def add_channel_axis(images: np.ndarray) -> np.ndarray:
    """Turn a batch of grey images ``(N, H, W)`` into ``(N, H, W, 1)``.

    ``Conv2D`` layers read "channels last" input ``(N, H, W, C)``; a grey image
    has a single channel ``C = 1``. Same values, same dtype, one more axis.

    Args:
        images: array of shape ``(N, H, W)``, integer or floating dtype.

    Returns:
        An array of shape ``(N, H, W, 1)`` with the same values and dtype. A
        copy or a view of ``images`` (``np.expand_dims`` gives a view) are both
        fine; ``images`` itself is never modified.

    Raises:
        TypeError: if ``images`` is not numeric.
        ValueError: if ``images`` is not 3-D.
    """
    # BEGIN SOLUTION
    images = _as_numeric_array(images, "images", "add_channel_axis")
    if images.ndim != 3:
        raise ValueError(
            f"add_channel_axis: images must be 3-D (N, H, W), "
            f"got shape {images.shape}"
        )
    return images[..., np.newaxis].copy()
    # END SOLUTION


def one_hot(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """One-hot encode integer class labels.

    ``out[n, k] = 1.0 if labels[n] == k else 0.0``

    Args:
        labels: 1-D integer array of shape ``(N,)`` with values in
            ``[0, num_classes)``.
        num_classes: positive int, the number of classes (10 digits).

    Returns:
        ``float32`` array of shape ``(N, num_classes)``; each row has a single 1.

    Raises:
        TypeError: if ``labels`` does not have an integer dtype (floats such
            as ``3.0`` and booleans are rejected) or ``num_classes`` is not an
            int.
        ValueError: if ``labels`` is not 1-D, a label is outside
            ``[0, num_classes)``, or ``num_classes < 1``.
    """
    # BEGIN SOLUTION
    labels = np.asarray(labels)
    if labels.dtype == np.bool_ or not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(
            f"one_hot: labels must have an integer dtype, got dtype {labels.dtype}"
        )
    num_classes = _check_positive_int(num_classes, "num_classes", "one_hot")
    if labels.ndim != 1:
        raise ValueError(f"one_hot: labels must be 1-D (N,), got shape {labels.shape}")
    outside = (labels < 0) | (labels >= num_classes)
    if np.any(outside):
        raise ValueError(
            f"one_hot: labels must lie in [0, {num_classes}), "
            f"found {labels[outside][0]}"
        )
    # Row k of the identity matrix is the one-hot vector of class k.
    return np.eye(num_classes, dtype=np.float32)[labels]
    # END SOLUTION


def make_datasets(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    batch_size: int = 32,
    shuffle_buffer: int = 10000,
    seed: int | None = None,
) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """Wrap already preprocessed arrays in batched ``tf.data`` pipelines.

    ``from_tensor_slices((x, y))`` cuts the arrays along their first axis into
    ``(image, label)`` pairs. The training pipeline shuffles them with a buffer
    of ``shuffle_buffer`` elements (a buffer at least as large as the data set
    gives a full shuffle) and draws a new order on every pass
    (``reshuffle_each_iteration=True``), then groups them into batches of
    ``batch_size``; the last batch may be smaller. The test pipeline is only
    batched, in the original order.

    Nothing is normalised or reshaped here: pass arrays that went through
    :func:`normalize` (and :func:`add_channel_axis` for the CNN) already.

    Args:
        x_train: training inputs, shape ``(N_train, ...)``.
        y_train: training labels, shape ``(N_train,)``.
        x_test: test inputs, shape ``(N_test, ...)``.
        y_test: test labels, shape ``(N_test,)``.
        batch_size: positive int, examples per batch.
        shuffle_buffer: positive int, size of the shuffle buffer.
        seed: ``None`` for a different order on each run, or an int to make
            the shuffling reproducible.

    Returns:
        ``(train_ds, test_ds)``, whose elements are ``(inputs, labels)``
        batches of shapes ``(B, ...)`` and ``(B,)`` with ``B <= batch_size``.

    Raises:
        TypeError: if batch_size or shuffle_buffer is not an int, or seed is
            neither None nor an int.
        ValueError: if inputs and labels differ in length, an array has no
            first axis, or batch_size / shuffle_buffer < 1.
    """
    # BEGIN SOLUTION
    func = "make_datasets"
    arrays = {
        "x_train": np.asarray(x_train),
        "y_train": np.asarray(y_train),
        "x_test": np.asarray(x_test),
        "y_test": np.asarray(y_test),
    }
    for name, array in arrays.items():
        if array.ndim == 0:
            raise ValueError(
                f"{func}: {name} must have a first (example) axis, got a scalar"
            )
    for x_name, y_name in (("x_train", "y_train"), ("x_test", "y_test")):
        n_x, n_y = len(arrays[x_name]), len(arrays[y_name])
        if n_x != n_y:
            raise ValueError(
                f"{func}: {x_name} and {y_name} must have the same length, "
                f"got {n_x} inputs and {n_y} labels"
            )
    batch_size = _check_positive_int(batch_size, "batch_size", func)
    shuffle_buffer = _check_positive_int(shuffle_buffer, "shuffle_buffer", func)
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
    ):
        raise TypeError(
            f"{func}: seed must be None or an int, got {type(seed).__name__}"
        )

    train_ds = (
        tf.data.Dataset.from_tensor_slices((arrays["x_train"], arrays["y_train"]))
        .shuffle(
            shuffle_buffer,
            seed=None if seed is None else int(seed),
            reshuffle_each_iteration=True,
        )
        .batch(batch_size)
    )
    test_ds = tf.data.Dataset.from_tensor_slices(
        (arrays["x_test"], arrays["y_test"])
    ).batch(batch_size)
    return train_ds, test_ds
    # END SOLUTION
