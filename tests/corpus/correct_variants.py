'''The correct-variants corpus: right answers written in other styles (issue 4, precision).

Each ``Variant`` is a complete submission: ``solutions/`` with some modules replaced by
full source text (``files``) or edited by exact ``(old, new)`` replacements
(``changes``; each ``old`` must occur exactly once, see ``tests.corpus.build``). The
replacements swap the computation inside a function for another correct way of
writing it and keep the reference's argument checks, so the variant differs in style,
not in what it accepts. Graded by the full grader, accuracy bars included, every
variant must score 100/100.
'''

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Variant:
    """One correct submission in another style."""

    id: str
    description: str
    changes: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def module_changes(self) -> dict[str, tuple[tuple[str, str], ...]]:
        return self.changes

    @property
    def modules(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.changes) | set(self.files)))


# --- the reference's computations that the variants replace ----------------------------

CONV2D_LOOPS = (
    "    out = np.zeros((out_h, out_w), dtype=dtype)\n"
    "    for i in range(out_h):\n"
    "        for j in range(out_w):\n"
    "            top, left = i * stride, j * stride\n"
    "            patch = x[top : top + kh, left : left + kw]  # same shape as the kernel\n"
    "            out[i, j] = np.sum(patch * k)  # multiply element-wise, then add up\n"
    "    return out\n"
)
LAYER_TENSORDOT = (
    "    # Every kh x kw patch at once, as a view: shape (N, H', W', Cin, kh, kw).\n"
    "    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))\n"
    "    # Keep the patches the stride visits: shape (N, Ho, Wo, Cin, kh, kw).\n"
    "    windows = windows[:, : out_h * stride : stride, : out_w * stride : stride]\n"
    "    # Sum over (kh, kw, Cin) of patch * kernel for every output channel.\n"
    "    out = np.tensordot(windows, kernels.astype(dtype), axes=([4, 5, 3], [0, 1, 2]))\n"
    "    return out + biases.astype(dtype)\n"
)
POOL_LOOPS = (
    "    out = np.empty((out_h, out_w, x.shape[2]), dtype=image.dtype)\n"
    "    for i in range(out_h):\n"
    "        for j in range(out_w):\n"
    "            top, left = i * stride, j * stride\n"
    "            window = x[top : top + pool_size, left : left + pool_size, :]\n"
    "            out[i, j, :] = window.max(axis=(0, 1))  # one maximum per channel\n"
    "    return out[:, :, 0] if image.ndim == 2 else out\n"
)
RELU_COPY = (
    "    out = x.copy()  # a new array: the caller's x stays untouched\n"
    "    out[out < 0] = 0  # NaN < 0 is False, so NaN passes through like in NumPy\n"
    "    return out\n"
)
SOFTMAX_SHIFT = (
    "    shifted = logits - np.max(logits, axis=axis, keepdims=True)  # largest is 0\n"
    "    exps = np.exp(shifted)\n"
    "    return exps / np.sum(exps, axis=axis, keepdims=True)\n"
)
NORMALIZE = "    return images.astype(np.float32) / np.float32(MAX_PIXEL_VALUE)\n"
CHANNEL_AXIS = "    return images[..., np.newaxis].copy()\n"
ONE_HOT = "    return np.eye(num_classes, dtype=np.float32)[labels]\n"
DATASETS = (
    "    train_ds = (\n"
    "        tf.data.Dataset.from_tensor_slices((arrays[\"x_train\"], arrays[\"y_train\"]))\n"
    "        .shuffle(\n"
    "            shuffle_buffer,\n"
    "            seed=None if seed is None else int(seed),\n"
    "            reshuffle_each_iteration=True,\n"
    "        )\n"
    "        .batch(batch_size)\n"
    "    )\n"
    "    test_ds = tf.data.Dataset.from_tensor_slices(\n"
    "        (arrays[\"x_test\"], arrays[\"y_test\"])\n"
    "    ).batch(batch_size)\n"
)
KERAS_BODY = (
    "    model = keras.Sequential(\n"
    "        [\n"
    "            keras.Input(shape=(28, 28)),\n"
    "            keras.layers.Flatten(),\n"
    "            keras.layers.Dense(128, activation=\"relu\"),\n"
    "            keras.layers.Dropout(0.2),\n"
    "            keras.layers.Dense(10, activation=\"softmax\"),\n"
    "        ]\n"
    "    )\n"
    "    model.compile(\n"
    "        optimizer=\"adam\",\n"
    "        loss=\"sparse_categorical_crossentropy\",\n"
    "        metrics=[\"accuracy\"],\n"
    "    )\n"
    "    return model\n"
)

# --- convolution -----------------------------------------------------------------------

CONV_EINSUM = Variant(
    "conv_sliding_window_einsum",
    "conv2d and conv2d_layer with sliding_window_view and np.einsum",
    changes={"convolution": (
        (CONV2D_LOOPS,
         "    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw))\n"
         "    windows = windows[: out_h * stride : stride, : out_w * stride : stride]\n"
         "    return np.einsum(\"ijab,ab->ij\", windows, k)\n"),
        (LAYER_TENSORDOT,
         "    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))\n"
         "    windows = windows[:, : out_h * stride : stride, : out_w * stride : stride]\n"
         "    # windows: (N, Ho, Wo, Cin, kh, kw); kernels: (kh, kw, Cin, Cout)\n"
         "    out = np.einsum(\"nijcab,abco->nijo\", windows, kernels.astype(dtype))\n"
         "    return out + biases.astype(dtype)\n"),
    )},
)

CONV_SCIPY = Variant(
    "conv_scipy_correlate2d",
    "conv2d with scipy.signal.correlate2d; conv2d_layer as a sum of correlate2d over channels",
    changes={"convolution": (
        ("import numpy as np\n", "import numpy as np\nfrom scipy.signal import correlate2d\n"),
        (CONV2D_LOOPS,
         "    # correlate2d does not flip the kernel: it is exactly Keras's 'convolution'.\n"
         "    full = correlate2d(x, k, mode=\"valid\")\n"
         "    return full[::stride, ::stride][:out_h, :out_w]\n"),
        (LAYER_TENSORDOT,
         "    n_images = len(x)\n"
         "    out = np.zeros((n_images, out_h, out_w, c_out), dtype=dtype)\n"
         "    for n in range(n_images):\n"
         "        for o in range(c_out):\n"
         "            for c in range(c_in):\n"
         "                plane = correlate2d(x[n, :, :, c], kernels[:, :, c, o].astype(dtype), mode=\"valid\")\n"
         "                out[n, :, :, o] += plane[::stride, ::stride][:out_h, :out_w]\n"
         "            out[n, :, :, o] += biases[o]\n"
         "    return out\n"),
    )},
)

CONV_LOOPS = Variant(
    "conv_explicit_loops",
    "conv2d and conv2d_layer as explicit loops over every index, no vectorisation",
    changes={"convolution": (
        (CONV2D_LOOPS,
         "    out = np.zeros((out_h, out_w), dtype=dtype)\n"
         "    for i in range(out_h):\n"
         "        for j in range(out_w):\n"
         "            total = 0.0\n"
         "            for a in range(kh):\n"
         "                for b in range(kw):\n"
         "                    total += x[i * stride + a, j * stride + b] * k[a, b]\n"
         "            out[i, j] = total\n"
         "    return out\n"),
        (LAYER_TENSORDOT,
         "    k = kernels.astype(dtype)\n"
         "    out = np.zeros((x.shape[0], out_h, out_w, c_out), dtype=dtype)\n"
         "    for n in range(x.shape[0]):\n"
         "        for i in range(out_h):\n"
         "            for j in range(out_w):\n"
         "                for o in range(c_out):\n"
         "                    total = float(biases[o])\n"
         "                    for a in range(kh):\n"
         "                        for b in range(kw):\n"
         "                            for c in range(c_in):\n"
         "                                total += x[n, i * stride + a, j * stride + b, c] * k[a, b, c, o]\n"
         "                    out[n, i, j, o] = total\n"
         "    return out\n"),
    )},
)

CONV_IM2COL = Variant(
    "conv_im2col_matmul",
    "im2col: every patch flattened in the kernels' (kh, kw, Cin) order, then one matrix product",
    changes={"convolution": (
        (CONV2D_LOOPS,
         "    rows = [x[i * stride : i * stride + kh, j * stride : j * stride + kw].ravel()\n"
         "            for i in range(out_h) for j in range(out_w)]\n"
         "    return (np.array(rows, dtype=dtype) @ k.ravel()).reshape(out_h, out_w)\n"),
        (LAYER_TENSORDOT,
         "    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))\n"
         "    windows = windows[:, : out_h * stride : stride, : out_w * stride : stride]\n"
         "    # (N, Ho, Wo, Cin, kh, kw) -> (N, Ho, Wo, kh, kw, Cin): the kernels' order\n"
         "    columns = windows.transpose(0, 1, 2, 4, 5, 3).reshape(*windows.shape[:3], kh * kw * c_in)\n"
         "    weights = kernels.astype(dtype).reshape(kh * kw * c_in, c_out)\n"
         "    return columns @ weights + biases.astype(dtype)\n"),
    )},
)

# --- pooling ---------------------------------------------------------------------------

POOL_RESHAPE = Variant(
    "pool_reshape_trick",
    "non-overlapping windows by reshaping (H, W, C) to (Ho, p, Wo, p, C); sliding windows otherwise",
    changes={"pooling": ((
        POOL_LOOPS,
        "    if stride == pool_size:\n"
        "        # Cut what no window covers, split each axis into (window, cell), max over cells.\n"
        "        x = x[: out_h * pool_size, : out_w * pool_size]\n"
        "        out = x.reshape(out_h, pool_size, out_w, pool_size, x.shape[2]).max(axis=(1, 3))\n"
        "    else:\n"
        "        windows = np.lib.stride_tricks.sliding_window_view(x, (pool_size, pool_size), axis=(0, 1))\n"
        "        out = windows[: out_h * stride : stride, : out_w * stride : stride].max(axis=(3, 4))\n"
        "    return out[:, :, 0] if image.ndim == 2 else out\n"),
    )},
)

POOL_WINDOWS = Variant(
    "pool_sliding_window_view",
    "every window at once with sliding_window_view, strided, max over the window axes",
    changes={"pooling": ((
        POOL_LOOPS,
        "    windows = np.lib.stride_tricks.sliding_window_view(x, (pool_size, pool_size), axis=(0, 1))\n"
        "    out = np.max(windows[::stride, ::stride][:out_h, :out_w], axis=(-2, -1))\n"
        "    return np.squeeze(out, axis=2) if image.ndim == 2 else out\n"),
    )},
)

POOL_LOOPS_PER_CHANNEL = Variant(
    "pool_loops_per_channel",
    "explicit loops channel by channel, keeping the best value seen so far",
    changes={"pooling": ((
        POOL_LOOPS,
        "    out = np.empty((out_h, out_w, x.shape[2]), dtype=image.dtype)\n"
        "    for c in range(x.shape[2]):\n"
        "        for i in range(out_h):\n"
        "            for j in range(out_w):\n"
        "                best = x[i * stride, j * stride, c]\n"
        "                for a in range(pool_size):\n"
        "                    for b in range(pool_size):\n"
        "                        if x[i * stride + a, j * stride + b, c] > best:\n"
        "                            best = x[i * stride + a, j * stride + b, c]\n"
        "                out[i, j, c] = best\n"
        "    if image.ndim == 2:\n"
        "        return out.reshape(out_h, out_w)\n"
        "    return out\n"),
    )},
)

# --- activations -----------------------------------------------------------------------

ACTIVATIONS_WHERE = Variant(
    "activations_where_moveaxis",
    "relu with np.where; softmax with the class axis moved last and back",
    changes={"activations": (
        (RELU_COPY, "    return np.where(x < 0, np.zeros_like(x), x)\n"),
        (SOFTMAX_SHIFT,
         "    z = np.moveaxis(logits, axis, -1)\n"
         "    e = np.exp(z - z.max(axis=-1)[..., np.newaxis])\n"
         "    return np.moveaxis(e / e.sum(axis=-1)[..., np.newaxis], -1, axis)\n"),
    )},
)

ACTIVATIONS_SCIPY = Variant(
    "activations_scipy_maximum",
    "relu with np.maximum(x, 0); softmax with scipy.special.softmax",
    changes={"activations": (
        ("import numpy as np\n", "import numpy as np\nfrom scipy.special import softmax as scipy_softmax\n"),
        (RELU_COPY, "    return np.maximum(x, 0)\n"),
        (SOFTMAX_SHIFT, "    return scipy_softmax(logits, axis=axis)\n"),
    )},
)

#: The reference's argument checks of relu and softmax, which the two variants below change.
RELU_DTYPE_CHECK = (
    "    if x.dtype == np.bool_ or not (\n"
    "        np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)\n"
    "    ):\n"
    "        raise TypeError(\n"
)
SOFTMAX_DTYPE_CHECK = (
    "    if logits.dtype == np.bool_ or not (\n"
    "        np.issubdtype(logits.dtype, np.integer)\n"
    "        or np.issubdtype(logits.dtype, np.floating)\n"
    "    ):\n"
    "        raise TypeError(\n"
    "            f\"softmax: logits must have an integer or floating dtype, \"\n"
    "            f\"got dtype {logits.dtype}\"\n"
    "        )\n"
)
SOFTMAX_AXIS_CHECK = (
    "    if not -logits.ndim <= axis < logits.ndim:\n"
    "        raise ValueError(\n"
    "            f\"softmax: axis {axis} is out of range for logits with \"\n"
    "            f\"{logits.ndim} dimension(s) (shape {logits.shape})\"\n"
    "        )\n"
)

CHANNEL_AXIS_VIEW = Variant(
    "channel_axis_expand_dims_view",
    "add_channel_axis returns np.expand_dims(images, -1), a view of the input (the docstring allows it)",
    changes={"preprocessing": ((CHANNEL_AXIS, "    return np.expand_dims(images, -1)  # a view: images is not modified\n"),)},
)

ACTIVATIONS_NUMPY_ERRORS = Variant(
    "activations_numpy_raises",
    "relu and softmax let NumPy raise for text (UFuncTypeError, a TypeError) and for an axis "
    "out of range (AxisError, a ValueError) instead of checking first",
    changes={"activations": (
        (RELU_DTYPE_CHECK, "    if x.dtype == np.bool_:\n        raise TypeError(\n"),
        (RELU_COPY, "    return np.maximum(x, 0)  # text: NumPy raises UFuncTypeError\n"),
        (SOFTMAX_DTYPE_CHECK, ""),
        (SOFTMAX_AXIS_CHECK, ""),
        (SOFTMAX_SHIFT,
         "    # An axis out of range: np.max raises AxisError; text: UFuncTypeError.\n"
         "    exps = np.exp(logits - np.max(logits, axis=axis, keepdims=True))\n"
         "    return exps / np.sum(exps, axis=axis, keepdims=True)\n"),
    )},
)

ACTIVATIONS_OWN_ERRORS = Variant(
    "activations_own_error_classes",
    "relu and softmax raise the student's own subclasses of TypeError and ValueError",
    changes={"activations": (
        ("import numpy as np\n",
         "import numpy as np\n\n\nclass NotNumbersError(TypeError):\n    \"\"\"Input that is not numeric.\"\"\"\n"
         "\n\nclass ShapeError(ValueError):\n    \"\"\"Input of the wrong shape.\"\"\"\n"),
        ("        raise TypeError(\n            f\"relu:", "        raise NotNumbersError(\n            f\"relu:"),
        ("        raise TypeError(\n            f\"softmax:", "        raise NotNumbersError(\n            f\"softmax:"),
        ("        raise ValueError(\n            f\"softmax: logits must not be empty",
         "        raise ShapeError(\n            f\"softmax: logits must not be empty"),
        ("        raise ValueError(\n            f\"softmax: axis", "        raise ShapeError(\n            f\"softmax: axis"),
    )},
)

# --- preprocessing ---------------------------------------------------------------------

PREPROCESSING_PIPELINE = Variant(
    "datasets_cache_prefetch",
    "tf.data pipelines with cache() and prefetch(AUTOTUNE)",
    changes={"preprocessing": ((
        DATASETS,
        "    autotune = tf.data.AUTOTUNE\n"
        "    train_ds = (\n"
        "        tf.data.Dataset.from_tensor_slices((arrays[\"x_train\"], arrays[\"y_train\"]))\n"
        "        .cache()\n"
        "        .shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)\n"
        "        .batch(batch_size)\n"
        "        .prefetch(autotune)\n"
        "    )\n"
        "    test_ds = (\n"
        "        tf.data.Dataset.from_tensor_slices((arrays[\"x_test\"], arrays[\"y_test\"]))\n"
        "        .batch(batch_size)\n"
        "        .cache()\n"
        "        .prefetch(autotune)\n"
        "    )\n"),
    )},
)

PREPROCESSING_NUMPY = Variant(
    "preprocessing_numpy_style",
    "np.divide(..., dtype=float32), np.expand_dims, one-hot by fancy indexing, zip-then-shuffle datasets",
    changes={"preprocessing": (
        (NORMALIZE, "    return np.divide(images, MAX_PIXEL_VALUE, dtype=np.float32)\n"),
        (CHANNEL_AXIS, "    return np.expand_dims(images, axis=-1).copy()\n"),
        (ONE_HOT,
         "    encoded = np.zeros((len(labels), num_classes), dtype=np.float32)\n"
         "    encoded[np.arange(len(labels)), labels] = 1.0\n"
         "    return encoded\n"),
        (DATASETS,
         "    def pairs(x, y):\n"
         "        return tf.data.Dataset.zip(\n"
         "            (tf.data.Dataset.from_tensor_slices(x), tf.data.Dataset.from_tensor_slices(y))\n"
         "        )\n"
         "\n"
         "    # Zipped first, shuffled after: an image and its label move together.\n"
         "    train_ds = pairs(arrays[\"x_train\"], arrays[\"y_train\"]).shuffle(shuffle_buffer, seed=seed)\n"
         "    train_ds = train_ds.batch(batch_size, drop_remainder=False)\n"
         "    test_ds = pairs(arrays[\"x_test\"], arrays[\"y_test\"]).batch(batch_size)\n"),
    )},
)

PREPROCESSING_EYE = Variant(
    "preprocessing_eye_reciprocal",
    "one-hot with np.eye(...)[labels].astype(float32), scaling by 1/255, reshape for the channel axis",
    changes={"preprocessing": (
        (NORMALIZE, "    return images.astype(np.float32) * np.float32(1.0 / 255.0)\n"),
        (CHANNEL_AXIS, "    return images.reshape(images.shape + (1,)).copy()\n"),
        (ONE_HOT, "    return np.eye(num_classes)[labels].astype(np.float32)\n"),
    )},
)

# --- float64 throughout ----------------------------------------------------------------

FLOAT64 = Variant(
    "float64_throughout",
    "computes in float64 everywhere: the convolutions, softmax (cast back to the input's dtype), normalize",
    changes={
        "convolution": (
            ("    dtype = np.result_type(image.dtype, kernel.dtype, np.float32)\n", "    dtype = np.float64\n"),
            ("    dtype = np.result_type(images.dtype, kernels.dtype, biases.dtype, np.float32)\n",
             "    dtype = np.float64\n"),
        ),
        "activations": ((
            SOFTMAX_SHIFT,
            "    z = logits.astype(np.float64)\n"
            "    exps = np.exp(z - np.max(z, axis=axis, keepdims=True))\n"
            "    return (exps / np.sum(exps, axis=axis, keepdims=True)).astype(logits.dtype)\n"),
        ),
        "preprocessing": ((
            NORMALIZE, "    return (np.asarray(images, dtype=np.float64) / 255.0).astype(np.float32)\n"),
        ),
    },
)

# --- keras_model -----------------------------------------------------------------------

KERAS_ADD = Variant(
    "keras_sequential_add",
    "Sequential() built with add(), compiled with optimizer, loss and metric objects",
    changes={"keras_model": ((
        KERAS_BODY,
        "    model = keras.Sequential(name=\"mnist_mlp\")\n"
        "    model.add(keras.Input(shape=(28, 28)))\n"
        "    model.add(keras.layers.Flatten())\n"
        "    model.add(keras.layers.Dense(units=128, activation=keras.activations.relu))\n"
        "    model.add(keras.layers.Dropout(rate=0.2))\n"
        "    model.add(keras.layers.Dense(units=10, activation=\"softmax\"))\n"
        "    model.compile(\n"
        "        optimizer=keras.optimizers.Adam(),\n"
        "        loss=keras.losses.SparseCategoricalCrossentropy(),\n"
        "        metrics=[keras.metrics.SparseCategoricalAccuracy()],\n"
        "    )\n"
        "    return model\n"),
    )},
)

# --- training --------------------------------------------------------------------------

TRAINER_XLA = Variant(
    "trainer_xla_compiled",
    "train_step and test_step compiled with @tf.function(jit_compile=True); optimizer.apply and "
    "metric.update_state spellings",
    changes={"training": (
        ("    def train_step(self, inputs: tf.Tensor, labels: tf.Tensor) -> None:\n",
         "    @tf.function(jit_compile=True)\n"
         "    def train_step(self, inputs: tf.Tensor, labels: tf.Tensor) -> None:\n"),
        ("    def test_step(self, inputs: tf.Tensor, labels: tf.Tensor) -> None:\n",
         "    @tf.function(jit_compile=True)\n"
         "    def test_step(self, inputs: tf.Tensor, labels: tf.Tensor) -> None:\n"),
        ("        gradients = tape.gradient(loss, self.model.trainable_variables)\n"
         "        self.optimizer.apply_gradients(\n"
         "            zip(gradients, self.model.trainable_variables)\n"
         "        )\n"
         "        self.train_loss(loss)\n"
         "        self.train_accuracy(labels, predictions)\n",
         "        weights = self.model.trainable_weights\n"
         "        self.optimizer.apply(tape.gradient(loss, weights), weights)\n"
         "        self.train_loss.update_state(loss)\n"
         "        self.train_accuracy.update_state(labels, predictions)\n"),
    )},
)

QUICKSTART_MODEL = '''"""The CNN of TensorFlow's "advanced quickstart", adapted to this course and Keras 3."""

import tensorflow as tf
from tensorflow.keras import Model
from tensorflow.keras.layers import Conv2D, Dense, Flatten


class MyModel(Model):
    def __init__(self):
        super().__init__()
        self.conv1 = Conv2D(32, 3, activation="relu")
        self.flatten = Flatten()
        self.dense1 = Dense(128, activation="relu")  # the quickstart's d1
        self.dense2 = Dense(10, activation="softmax")  # the quickstart's d2, with softmax

    def call(self, x):
        x = self.conv1(x)
        x = self.flatten(x)
        x = self.dense1(x)
        return self.dense2(x)


MNISTModel = MyModel
'''

QUICKSTART_TRAINING = '''"""The quickstart's training loop, moved into the course's Trainer (Keras 3 spellings)."""

import tensorflow as tf


class Trainer:
    def __init__(self, model):
        self.model = model
        self.loss_object = tf.keras.losses.SparseCategoricalCrossentropy()
        self.loss_function = self.loss_object
        self.optimizer = tf.keras.optimizers.Adam()
        self.train_loss = tf.keras.metrics.Mean(name="train_loss")
        self.train_accuracy = tf.keras.metrics.SparseCategoricalAccuracy(name="train_accuracy")
        self.test_loss = tf.keras.metrics.Mean(name="test_loss")
        self.test_accuracy = tf.keras.metrics.SparseCategoricalAccuracy(name="test_accuracy")

    @tf.function
    def train_step(self, images, labels):
        with tf.GradientTape() as tape:
            # training=True is only needed if there are layers with different
            # behavior during training versus inference (e.g. Dropout).
            predictions = self.model(images, training=True)
            loss = self.loss_object(labels, predictions)
        gradients = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables))

        self.train_loss(loss)
        self.train_accuracy(labels, predictions)

    @tf.function
    def test_step(self, images, labels):
        # training=False is only needed if there are layers with different
        # behavior during training versus inference (e.g. Dropout).
        predictions = self.model(images, training=False)
        t_loss = self.loss_object(labels, predictions)

        self.test_loss(t_loss)
        self.test_accuracy(labels, predictions)

    def reset_metrics(self):
        # Keras 3: reset_state() (the quickstart's reset_states() is gone)
        self.train_loss.reset_state()
        self.train_accuracy.reset_state()
        self.test_loss.reset_state()
        self.test_accuracy.reset_state()

    def fit(self, train_ds, test_ds, epochs=5):
        history = []
        for epoch in range(epochs):
            self.reset_metrics()

            for images, labels in train_ds:
                self.train_step(images, labels)

            for test_images, test_labels in test_ds:
                self.test_step(test_images, test_labels)

            history.append({
                "epoch": epoch + 1,
                "train_loss": float(self.train_loss.result()),
                "train_accuracy": float(self.train_accuracy.result()),
                "test_loss": float(self.test_loss.result()),
                "test_accuracy": float(self.test_accuracy.result()),
            })
            print(
                f"Epoch {epoch + 1}, "
                f"Loss: {self.train_loss.result():0.2f}, "
                f"Accuracy: {self.train_accuracy.result() * 100:0.2f}, "
                f"Test Loss: {self.test_loss.result():0.2f}, "
                f"Test Accuracy: {self.test_accuracy.result() * 100:0.2f}"
            )
        return history
'''

QUICKSTART = Variant(
    "lesson_quickstart_keras3",
    "the lesson's own code (TensorFlow's advanced quickstart) adapted to Keras 3: MyModel with "
    "d1/d2 renamed dense1/dense2, loss_object, @tf.function train_step/test_step, reset_state()",
    files={"model": QUICKSTART_MODEL, "training": QUICKSTART_TRAINING},
)

VARIANTS: tuple[Variant, ...] = (
    CONV_EINSUM, CONV_SCIPY, CONV_LOOPS, CONV_IM2COL,
    POOL_RESHAPE, POOL_WINDOWS, POOL_LOOPS_PER_CHANNEL,
    ACTIVATIONS_WHERE, ACTIVATIONS_SCIPY, ACTIVATIONS_NUMPY_ERRORS, ACTIVATIONS_OWN_ERRORS, CHANNEL_AXIS_VIEW,
    PREPROCESSING_PIPELINE, PREPROCESSING_NUMPY, PREPROCESSING_EYE,
    FLOAT64,
    KERAS_ADD,
    TRAINER_XLA,
    QUICKSTART,
)
BY_ID = {variant.id: variant for variant in VARIANTS}
