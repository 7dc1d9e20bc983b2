"""Independent reference computations the checks compare against.

Built on TensorFlow ops and real Keras layers (never on ``solutions/``, which a student
release does not carry). All in float64 so the oracle's own rounding is negligible.
Shapes follow the exercise API: images ``(H, W)`` / ``(N, H, W, C)``, kernels
``(kh, kw)`` / ``(kh, kw, Cin, Cout)``.
"""

from __future__ import annotations

import math

import numpy as np

from grader.lesson_networks import WEIGHT_SHAPES
from grader.tf_runtime import tf


def conv2d(image: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: str = "valid",
           strides: tuple[int, int] | None = None) -> np.ndarray:
    """Cross-correlation of one (H, W) image with one (kh, kw) kernel: ``tf.nn.conv2d``."""
    x = tf.constant(np.asarray(image, np.float64)[None, :, :, None])
    k = tf.constant(np.asarray(kernel, np.float64)[:, :, None, None])
    step = strides or (stride, stride)
    return tf.nn.conv2d(x, k, strides=[1, *step, 1], padding=padding.upper()).numpy()[0, :, :, 0]


def conv2d_layer(images: np.ndarray, kernels: np.ndarray, biases: np.ndarray,
                 stride: int = 1, padding: str = "valid") -> np.ndarray:
    """A real ``keras.layers.Conv2D`` given these weights: (N,H,W,Cin) -> (N,Ho,Wo,Cout)."""
    import keras

    layer = keras.layers.Conv2D(
        kernels.shape[3], kernels.shape[:2], strides=stride, padding=padding, dtype="float64"
    )
    layer.build((None, *images.shape[1:]))
    layer.set_weights([np.asarray(kernels, np.float64), np.asarray(biases, np.float64)])
    return np.asarray(layer(np.asarray(images, np.float64)))


def same_padding(size: int, window: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'same' split: (before, after), the extra cell going after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def max_pool2d(image: np.ndarray, pool_size: int = 2, stride: int | None = None,
               padding: str = "valid") -> np.ndarray:
    """``tf.nn.max_pool2d`` on (H, W) or (H, W, C); keeps the input's shape convention."""
    stride = stride or pool_size
    array = np.asarray(image, np.float64)
    x = array[None, :, :, None] if array.ndim == 2 else array[None]
    out = tf.nn.max_pool2d(tf.constant(x), pool_size, stride, padding.upper()).numpy()[0]
    return out[:, :, 0] if array.ndim == 2 else out


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """``keras.activations.softmax`` in float64."""
    import keras

    return np.asarray(keras.activations.softmax(tf.constant(np.asarray(logits, np.float64)), axis=axis))


def avg_pool2d(image: np.ndarray, pool_size: int = 2, stride: int | None = None,
               padding: str = "valid") -> np.ndarray:
    """``tf.nn.avg_pool2d`` on (H, W) or (H, W, C): what averaging instead of max gives."""
    stride = stride or pool_size
    array = np.asarray(image, np.float64)
    x = array[None, :, :, None] if array.ndim == 2 else array[None]
    out = tf.nn.avg_pool2d(tf.constant(x), pool_size, stride, padding.upper()).numpy()[0]
    return out[:, :, 0] if array.ndim == 2 else out


#: The lesson's CNN, layer by layer, and the shapes of its six weight arrays on 28x28x1.
MNIST_CNN_WEIGHT_SHAPES = WEIGHT_SHAPES["cnn"]


def mnist_cnn(images: np.ndarray, weights: list[np.ndarray], conv_activation: str = "relu",
              hidden_activation: str = "relu", output_activation: str = "softmax") -> np.ndarray:
    """The lesson's CNN as a float64 Keras Sequential given its weights: (N,28,28,1) -> (N,10).

    ``Input(28, 28, 1) -> Conv2D(32, 3, relu) -> Flatten -> Dense(128, relu) ->
    Dense(10, softmax)``; ``weights`` are conv kernel, conv bias, dense1 kernel, dense1
    bias, dense2 kernel, dense2 bias (``MNIST_CNN_WEIGHT_SHAPES``). The activations can
    be swapped to compute what a typical mistake would output.
    """
    import keras

    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1), dtype="float64"),
        keras.layers.Conv2D(32, 3, activation=conv_activation, dtype="float64"),
        keras.layers.Flatten(dtype="float64"),
        keras.layers.Dense(128, activation=hidden_activation, dtype="float64"),
        keras.layers.Dense(10, activation=output_activation, dtype="float64"),
    ])
    model.set_weights([np.asarray(weight, np.float64) for weight in weights])
    return np.asarray(model(np.asarray(images, np.float64), training=False))
