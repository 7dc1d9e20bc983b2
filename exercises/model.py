# Exercise stubs: generated from solutions/ by `course build`; edit the function bodies marked 'not implemented yet'.
"""A small convolutional network for MNIST, written as a subclassed Keras model.

Subclassing ``keras.Model`` is the most flexible way to define a network: the
layers are created once in ``__init__`` (so Keras tracks their weights as the
model's weights), and ``call`` says how an input flows through them. Keras
builds each layer's weights the first time it sees data, because only then does
it know the input shape.

The network::

    input (N, 28, 28, 1)
      -> conv1:   Conv2D, 32 filters of 3x3, ReLU   -> (N, 26, 26, 32)
      -> flatten: Flatten                           -> (N, 21632)
      -> dense1:  Dense(128), ReLU                  -> (N, 128)
      -> dense2:  Dense(10), softmax                -> (N, 10), rows sum to 1

The convolution finds 32 kinds of local pattern (strokes, edges) anywhere in
the image; it uses "valid" padding, so a 3x3 kernel loses one pixel on each
side (28 - 3 + 1 = 26). Flatten lines the 26 x 26 x 32 = 21,632 feature values
up into one vector, the hidden dense layer combines them, and the last layer
gives one probability per digit.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class MNISTModel(keras.Model):
    """Conv2D(32, 3, relu) -> Flatten -> Dense(128, relu) -> Dense(10, softmax).

    Attributes:
        conv1: ``keras.layers.Conv2D(32, 3, activation="relu")``.
        flatten: ``keras.layers.Flatten()``.
        dense1: ``keras.layers.Dense(128, activation="relu")``.
        dense2: ``keras.layers.Dense(10, activation="softmax")``.

    Parameter count on ``28 x 28 x 1`` input (weights + biases per layer):

    =========  ==============================  =========
    layer      computation                     params
    =========  ==============================  =========
    conv1      3 * 3 * 1 * 32 + 32             320
    flatten    (no weights)                    0
    dense1     (26 * 26 * 32) * 128 + 128      2,769,024
    dense2     128 * 10 + 10                   1,290
    total                                      2,770,634
    =========  ==============================  =========

    Almost all the weights sit in ``dense1``, because it connects every one of
    the 21,632 flattened features to each of its 128 units. The convolution,
    which shares its 3x3 kernels across all positions, needs only 320.
    """

    def __init__(self, **kwargs) -> None:
        """Create the four layers (their weights are built on the first call).

        Args:
            **kwargs: passed on to ``keras.Model`` (for example ``name``).
        """
        super().__init__(**kwargs)
        raise NotImplementedError("MNISTModel.__init__: not implemented yet - read its docstring, then replace this line with your code")

    def call(self, x: tf.Tensor) -> tf.Tensor:
        """Forward pass.

        Args:
            x: batch of images, shape ``(N, 28, 28, 1)``, float values in
                ``[0, 1]``.

        Returns:
            Tensor of shape ``(N, 10)``: the probability of each digit; every
            row sums to 1.
        """
        raise NotImplementedError("MNISTModel.call: not implemented yet - read its docstring, then replace this line with your code")
