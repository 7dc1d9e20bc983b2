"""The beginner's MNIST model with the Keras ``Sequential`` API.

``keras.Sequential`` stacks layers in a list: the output of each layer is the
input of the next. This is the shortest way to write a network that is a single
chain of layers, and ``compile`` + ``fit`` then take care of the training loop
that ``training.py`` writes by hand.

This model has no convolution: it looks at the 784 pixels as one long vector,
and still reaches about 97-98% test accuracy on MNIST in a few epochs.
"""

from __future__ import annotations

import keras


def build_keras_model() -> keras.Sequential:
    """Build and compile a dense MNIST classifier.

    Layers, for a batch of ``N`` normalised images:

    1. ``keras.Input(shape=(28, 28))``: declares the shape of one example
       (the batch axis is implicit), so Keras can create all weights at once.
       It is not a layer with weights.
    2. ``Flatten()``: ``(N, 28, 28) -> (N, 784)``, the pixels in one row.
    3. ``Dense(128, activation="relu")``: a hidden layer, each of its 128 units
       sees every pixel; ``784 * 128 + 128 = 100,480`` parameters.
    4. ``Dropout(0.2)``: during training only, sets a random 20% of the 128
       activations to 0 (and scales the rest by 1 / 0.8), so the network cannot
       rely on any single unit: a cheap defence against overfitting. At test
       time it does nothing.
    5. ``Dense(10, activation="softmax")``: one probability per digit, rows sum
       to 1; ``128 * 10 + 10 = 1,290`` parameters (101,770 in total).

    Compile settings:

    * ``optimizer="adam"``: Adam with its default learning rate (0.001).
    * ``loss="sparse_categorical_crossentropy"``: cross-entropy
      ``-log(p[label])`` for **integer** labels 0..9. The plain
      ``"categorical_crossentropy"`` would expect one-hot vectors of length 10;
      the "sparse" version takes the label as an index, so MNIST's labels can
      be used as they are.
    * ``metrics=["accuracy"]``: report the fraction of correctly classified
      images during ``fit`` and ``evaluate``.

    Returns:
        The compiled, already built ``keras.Sequential`` model, ready for
        ``model.fit(x_train, y_train, epochs=5)`` with ``x_train`` of shape
        ``(N, 28, 28)`` in ``[0, 1]`` and integer labels ``y_train``.
    """
    # BEGIN SOLUTION
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
    # END SOLUTION
