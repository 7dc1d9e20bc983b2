"""The mistakes corpus: realistic wrong submissions, as data (issue 4, recall).

Each ``Mistake`` is a small edit of ONE module of ``solutions/``: a list of exact
``(old, new)`` text replacements (each ``old`` must occur exactly once, see
``tests.corpus.build``). Graded by the real grader, the submission must lose points in
``exercise`` and nowhere else (one bug costs one exercise), and every failing check of
that exercise must print a message matching ``hint`` (a regular expression, searched
case-insensitively): the message names the likely mistake.

``covers`` names the item of issue 4's list the entry stands for (``ISSUE_ITEMS``);
entries with ``covers=None`` are further mistakes students really make.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Every mistake issue 4 asks the corpus to cover, as "<exercise>: <mistake>".
ISSUE_ITEMS = (
    "convolution: kernel flipped (true convolution)",
    "convolution: products averaged instead of summed",
    "convolution: output size off by one",
    "convolution: stride ignored",
    "convolution: stride applied to one axis",
    "convolution: 'same' padding split the wrong way",
    "convolution: rows and columns swapped",
    "convolution: integer output from integer input",
    "convolution: bias ignored",
    "convolution: bias added wrongly",
    "convolution: channels summed in the wrong order",
    "pooling: stride 1 by default",
    "pooling: average instead of max",
    "pooling: last window dropped wrongly",
    "pooling: pooling across channels",
    "activations: softmax over the wrong axis",
    "activations: softmax without the max shift",
    "activations: relu mutates its input",
    "preprocessing: divided by 256",
    "preprocessing: not divided at all",
    "preprocessing: integer division",
    "preprocessing: mutates the input",
    "preprocessing: channel axis first",
    "preprocessing: one-hot of the wrong dtype",
    "preprocessing: one-hot off by one",
    "preprocessing: test set shuffled",
    "preprocessing: training set not shuffled",
    "preprocessing: training set shuffled once, never again",
    "preprocessing: wrong batch size",
    "preprocessing: labels and images shuffled separately",
    "model: missing relu",
    "model: missing softmax",
    "model: wrong filter count",
    "model: wrong kernel size",
    "model: layers created inside call",
    "model: Flatten left out",
    "training: gradients computed but not applied",
    "training: training=False in the train step",
    "training: loss computed outside the tape",
    "training: test step that trains",
    "training: test step that updates the train metrics",
    "training: metrics never reset between epochs",
    "training: fit trains on the test data",
    "keras_model: dropout missing",
    "keras_model: dropout at the wrong rate",
    "keras_model: categorical_crossentropy with integer labels",
    "keras_model: not compiled",
    "keras_model: wrong input shape",
)


@dataclass(frozen=True)
class Mistake:
    """One wrong submission: ``changes`` applied to ``solutions/<module>.py``."""

    id: str
    exercise: str
    description: str
    changes: tuple[tuple[str, str], ...]
    hint: str
    covers: str | None = None
    module: str = ""  # defaults to the exercise: in this course each exercise is one module

    @property
    def module_name(self) -> str:
        return self.module or self.exercise

    def module_changes(self) -> dict[str, tuple[tuple[str, str], ...]]:
        return {self.module_name: self.changes}


def _m(id, exercise, description, changes, hint, covers=None):
    return Mistake(id, exercise, description, tuple(changes), hint, covers)


# --- convolution ---------------------------------------------------------------------

_CONV_OUT = "    out = np.zeros((out_h, out_w), dtype=dtype)\n"
_CONV_SUM = "            out[i, j] = np.sum(patch * k)  # multiply element-wise, then add up\n"
_CONV_STEP = "            top, left = i * stride, j * stride\n"
_CONV_VALID = "        return (size - kernel_size) // stride + 1, 0, 0\n"
_LAYER_SUM = "    out = np.tensordot(windows, kernels.astype(dtype), axes=([4, 5, 3], [0, 1, 2]))\n"
_LAYER_BIAS = "    return out + biases.astype(dtype)\n"

CONVOLUTION = [
    _m("conv_kernel_flipped", "convolution",
       "flips the kernel first, as in the mathematical convolution (Keras does not)",
       [("    k = kernel.astype(dtype)\n", "    k = kernel[::-1, ::-1].astype(dtype)  # flip, as in the maths\n")],
       r"true convolution \(kernel flipped\)", "convolution: kernel flipped (true convolution)"),
    _m("conv_mean_of_products", "convolution",
       "averages the products of patch and kernel, as the lesson's text says, instead of summing them",
       [(_CONV_SUM, "            out[i, j] = np.mean(patch * k)  # the average of the products\n")],
       r"mean of the products", "convolution: products averaged instead of summed"),
    _m("conv_output_size_off_by_one", "convolution",
       "'valid' output size (H - kh) // stride, without the + 1 (the last position is lost)",
       [(_CONV_VALID, "        return (size - kernel_size) // stride, 0, 0\n")],
       r"one row/column too (few|small).*\(H - kh\) // stride \+ 1", "convolution: output size off by one"),
    _m("conv_stride_ignored", "convolution",
       "computes the output size with the stride but moves the window one cell per output position",
       [(_CONV_STEP, "            top, left = i, j\n")],
       r"moves one cell per output position", "convolution: stride ignored"),
    _m("conv_stride_rows_only", "convolution",
       "applies the stride to the rows only: the column position forgets to multiply by it",
       [(_CONV_STEP, "            top, left = i * stride, j\n")],
       r"stride is applied to the rows only", "convolution: stride applied to one axis"),
    _m("conv_same_split_reversed", "convolution",
       "'same' padding puts the odd extra row/column first (top/left) instead of last",
       [("    pad_before = pad_total // 2  # TensorFlow: the odd extra row/column goes last\n",
         "    pad_before = pad_total - pad_total // 2  # the extra row/column first\n")],
       r"split the wrong way", "convolution: 'same' padding split the wrong way"),
    _m("conv_rows_columns_swapped", "convolution",
       "indexes the output as out[column, row] (an (x, y) habit): the result is transposed",
       [(_CONV_OUT, "    out = np.zeros((out_w, out_h), dtype=dtype)\n"),
        (_CONV_SUM, "            out[j, i] = np.sum(patch * k)  # out[x, y]\n")],
       r"rows and columns are swapped", "convolution: rows and columns swapped"),
    _m("conv_integer_output", "convolution",
       "creates the output with the image's dtype, so a uint8 image gives truncated, wrapped uint8 sums",
       [(_CONV_OUT, "    out = np.zeros((out_h, out_w), dtype=image.dtype)\n")],
       r"integer dtype", "convolution: integer output from integer input"),
    _m("conv_layer_bias_ignored", "convolution",
       "conv2d_layer forgets the biases",
       [(_LAYER_BIAS, "    return out\n")],
       r"biases are missing", "convolution: bias ignored"),
    _m("conv_layer_bias_per_input_channel", "convolution",
       "conv2d_layer loops over the input channels and adds the bias inside the loop (Cin times)",
       [(_LAYER_SUM + _LAYER_BIAS,
         "    out = 0\n"
         "    for c in range(c_in):  # one input channel at a time\n"
         "        out = out + np.tensordot(\n"
         "            windows[:, :, :, c], kernels[:, :, c].astype(dtype), axes=([3, 4], [0, 1])\n"
         "        ) + biases.astype(dtype)\n"
         "    return out\n")],
       r"bias is added once per input channel", "convolution: bias added wrongly"),
    _m("conv_layer_channels_misordered", "convolution",
       "conv2d_layer flattens each patch as (Cin, kh, kw), the order sliding_window_view gives, "
       "but the kernels as (kh, kw, Cin): the channels meet the wrong weights",
       [(_LAYER_SUM, "    out = windows.reshape(*windows.shape[:3], -1) @ kernels.astype(dtype).reshape(-1, c_out)\n")],
       r"flattened in different orders", "convolution: channels summed in the wrong order"),
]

# --- pooling -------------------------------------------------------------------------

_POOL_MAX = "            out[i, j, :] = window.max(axis=(0, 1))  # one maximum per channel\n"
_POOL_VALID = "        return (size - pool_size) // stride + 1, 0, 0\n"

POOLING = [
    _m("pool_pad_inf_integer", "pooling",
       "'same' pads every image with -inf, which an integer image cannot hold",
       [("        if np.issubdtype(x.dtype, np.floating):\n"
         "            lowest = -np.inf\n"
         "        else:\n"
         "            lowest = np.iinfo(x.dtype).min\n", "        lowest = -np.inf\n")],
       r"cannot hold -inf"),
    _m("pool_stride_defaults_to_one", "pooling",
       "stride=None becomes 1 instead of pool_size (overlapping windows)",
       [("        stride = pool_size  # non-overlapping windows\n", "        stride = 1\n")],
       r"stride 1 by default", "pooling: stride 1 by default"),
    _m("pool_average", "pooling",
       "takes the average of each window instead of its maximum",
       [(_POOL_MAX, "            out[i, j, :] = window.mean(axis=(0, 1))\n")],
       r"average of each window", "pooling: average instead of max"),
    _m("pool_last_window_dropped", "pooling",
       "'valid' output size (H - pool_size) // stride without the + 1: the last whole window is dropped",
       [(_POOL_VALID, "        return (size - pool_size) // stride, 0, 0\n")],
       r"last whole window .*dropped", "pooling: last window dropped wrongly"),
    _m("pool_partial_window_kept", "pooling",
       "'valid' output size rounded up: a last, partial window is pooled too",
       [(_POOL_VALID, "        return math.ceil((size - pool_size) / stride) + 1, 0, 0\n")],
       r"drops the last partial window"),
    _m("pool_across_channels", "pooling",
       "takes the maximum over the whole window including the channel axis",
       [(_POOL_MAX, "            out[i, j, :] = window.max()\n")],
       r"channels were pooled together", "pooling: pooling across channels"),
    _m("pool_same_zero_padding", "pooling",
       "'same' pads with 0, which wins over negative values",
       [("            constant_values=lowest,\n", "            constant_values=0,\n")],
       r"padding holds 0"),
    _m("pool_float_output", "pooling",
       "creates the output with np.zeros, so integer images come back as float64",
       [("    out = np.empty((out_h, out_w, x.shape[2]), dtype=image.dtype)\n",
         "    out = np.zeros((out_h, out_w, x.shape[2]))\n")],
       r"keep the image's dtype"),
]

# --- activations ---------------------------------------------------------------------

_SHIFT = "    shifted = logits - np.max(logits, axis=axis, keepdims=True)  # largest is 0\n"

ACTIVATIONS = [
    _m("softmax_global_max", "activations",
       "softmax subtracts the max of the whole array, not of each slice: a slice far below it gives 0/0",
       [(_SHIFT, "    shifted = logits - np.max(logits)\n")],
       r"max along `axis`"),
    _m("softmax_last_axis_always", "activations",
       "softmax always normalises along the last axis, whatever `axis` says",
       [(_SHIFT, "    shifted = logits - np.max(logits, axis=-1, keepdims=True)\n"),
        ("    return exps / np.sum(exps, axis=axis, keepdims=True)\n",
         "    return exps / np.sum(exps, axis=-1, keepdims=True)\n")],
       r"must normalise along axis", "activations: softmax over the wrong axis"),
    _m("softmax_no_max_shift", "activations",
       "softmax without subtracting the maximum: exp(1000) overflows",
       [(_SHIFT, "    shifted = logits\n")],
       r"subtract the max before exp", "activations: softmax without the max shift"),
    _m("relu_in_place", "activations",
       "relu zeroes the negative entries of the caller's array in place",
       [("    out = x.copy()  # a new array: the caller's x stays untouched\n", "    out = x\n")],
       r"modified its input", "activations: relu mutates its input"),
    _m("relu_float_zero", "activations",
       "relu as np.maximum(x, 0.0): integer inputs come back as float64",
       [("    out = x.copy()  # a new array: the caller's x stays untouched\n"
         "    out[out < 0] = 0  # NaN < 0 is False, so NaN passes through like in NumPy\n"
         "    return out\n",
         "    return np.maximum(x, 0.0)\n")],
       r"keep the input's dtype"),
]

# --- preprocessing -------------------------------------------------------------------

_NORMALIZE = "    return images.astype(np.float32) / np.float32(MAX_PIXEL_VALUE)\n"
_ONE_HOT = "    return np.eye(num_classes, dtype=np.float32)[labels]\n"
_TRAIN_SHUFFLE = (
    "        .shuffle(\n"
    "            shuffle_buffer,\n"
    "            seed=None if seed is None else int(seed),\n"
    "            reshuffle_each_iteration=True,\n"
    "        )\n"
)
_TRAIN_DS = (
    "    train_ds = (\n"
    "        tf.data.Dataset.from_tensor_slices((arrays[\"x_train\"], arrays[\"y_train\"]))\n"
    + _TRAIN_SHUFFLE
    + "        .batch(batch_size)\n"
    "    )\n"
)
_TEST_DS = (
    "    test_ds = tf.data.Dataset.from_tensor_slices(\n"
    "        (arrays[\"x_test\"], arrays[\"y_test\"])\n"
    "    ).batch(batch_size)\n"
)

PREPROCESSING = [
    _m("normalize_no_range_check", "preprocessing",
       "normalize does not reject pixel values outside [0, 255] (an image normalised twice)",
       [("    in_range = (images >= 0) & (images <= MAX_PIXEL_VALUE)  # False for NaN\n"
         "    if not np.all(in_range):\n", "    if False:\n")],
       r"outside \[0, 255\]"),
    _m("normalize_by_256", "preprocessing", "divides the pixels by 256",
       [(_NORMALIZE, "    return images.astype(np.float32) / np.float32(256.0)\n")],
       r"divided by 256", "preprocessing: divided by 256"),
    _m("normalize_not_divided", "preprocessing", "converts to float32 but never divides",
       [(_NORMALIZE, "    return images.astype(np.float32)\n")],
       r"not scaled", "preprocessing: not divided at all"),
    _m("normalize_floor_division", "preprocessing", "uses // (floor division): only 0s and 1s remain",
       [(_NORMALIZE, "    return (images // MAX_PIXEL_VALUE).astype(np.float32)\n")],
       r"integer division", "preprocessing: integer division"),
    _m("normalize_in_place", "preprocessing",
       "converts with np.asarray (no copy for float32 input) and divides in place with /=",
       [(_NORMALIZE,
         "    images = np.asarray(images, dtype=np.float32)\n"
         "    images /= MAX_PIXEL_VALUE\n"
         "    return images\n")],
       r"modified its input", "preprocessing: mutates the input"),
    _m("channel_axis_first", "preprocessing", "adds the channel axis first: (N, 1, H, W)",
       [("    return images[..., np.newaxis].copy()\n", "    return images[:, np.newaxis].copy()\n")],
       r"channel axis comes first", "preprocessing: channel axis first"),
    _m("one_hot_float64", "preprocessing", "one-hot from np.eye without a dtype: float64",
       [(_ONE_HOT, "    return np.eye(num_classes)[labels]\n")],
       r"default to float64", "preprocessing: one-hot of the wrong dtype"),
    _m("one_hot_integer", "preprocessing", "one-hot as an integer array",
       [(_ONE_HOT, "    return np.eye(num_classes, dtype=np.int64)[labels]\n")],
       r"integer one-hot array"),
    _m("one_hot_off_by_one", "preprocessing", "puts the 1 at column label - 1 (counting classes from 1)",
       [(_ONE_HOT, "    return np.eye(num_classes, dtype=np.float32)[labels - 1]\n")],
       r"off by one", "preprocessing: one-hot off by one"),
    _m("test_set_shuffled", "preprocessing", "shuffles the test set too",
       [(_TEST_DS,
         "    test_ds = tf.data.Dataset.from_tensor_slices(\n"
         "        (arrays[\"x_test\"], arrays[\"y_test\"])\n"
         "    ).shuffle(shuffle_buffer).batch(batch_size)\n")],
       r"test set is shuffled", "preprocessing: test set shuffled"),
    _m("train_not_shuffled", "preprocessing", "never shuffles the training set",
       [(_TRAIN_SHUFFLE, "")],
       r"training set is not shuffled", "preprocessing: training set not shuffled"),
    _m("train_shuffled_once", "preprocessing", "shuffles with reshuffle_each_iteration=False",
       [("            reshuffle_each_iteration=True,\n", "            reshuffle_each_iteration=False,\n")],
       r"shuffled once and never again", "preprocessing: training set shuffled once, never again"),
    _m("train_numpy_permutation", "preprocessing",
       "shuffles the arrays once with a NumPy permutation instead of Dataset.shuffle",
       [(_TRAIN_DS,
         "    order = np.random.default_rng(seed).permutation(len(arrays[\"y_train\"]))\n"
         "    train_ds = tf.data.Dataset.from_tensor_slices(\n"
         "        (arrays[\"x_train\"][order], arrays[\"y_train\"][order])\n"
         "    ).batch(batch_size)\n")],
       r"shuffled once and never again|shuffle_buffer is ignored"),
    _m("batch_size_hard_coded", "preprocessing", "batches by 32 whatever batch_size says",
       [("        .batch(batch_size)\n", "        .batch(32)\n"),
        ("    ).batch(batch_size)\n", "    ).batch(32)\n")],
       r"wrong batch size", "preprocessing: wrong batch size"),
    _m("labels_shuffled_separately", "preprocessing",
       "shuffles an images dataset and a labels dataset separately, then zips them",
       [(_TRAIN_DS,
         "    options = dict(seed=None if seed is None else int(seed), reshuffle_each_iteration=True)\n"
         "    images = tf.data.Dataset.from_tensor_slices(arrays[\"x_train\"]).shuffle(shuffle_buffer, **options)\n"
         "    labels = tf.data.Dataset.from_tensor_slices(arrays[\"y_train\"]).shuffle(shuffle_buffer, **options)\n"
         "    train_ds = tf.data.Dataset.zip((images, labels)).batch(batch_size)\n")],
       r"shuffled separately", "preprocessing: labels and images shuffled separately"),
]

# --- model ---------------------------------------------------------------------------

_CONV1 = "        self.conv1 = keras.layers.Conv2D(32, 3, activation=\"relu\")\n"
_DENSE1 = "        self.dense1 = keras.layers.Dense(128, activation=\"relu\")\n"
_DENSE2 = "        self.dense2 = keras.layers.Dense(10, activation=\"softmax\")\n"

MODEL = [
    _m("model_softmax_batch_axis", "model",
       "call() ends in tf.nn.softmax(x, axis=0): the columns sum to 1, not the rows",
       [("        return self.dense2(x)\n", "        x = self.dense2(x)\n        return tf.nn.softmax(x, axis=0)\n")],
       r"batch axis"),
    _m("model_conv_without_relu", "model", "conv1 without activation='relu'",
       [(_CONV1, "        self.conv1 = keras.layers.Conv2D(32, 3)\n")],
       r"conv1's relu|activation='relu' to the conv2d", "model: missing relu"),
    _m("model_dense1_without_relu", "model", "dense1 without activation='relu'",
       [(_DENSE1, "        self.dense1 = keras.layers.Dense(128)\n")],
       r"dense1's relu|activation='relu' to dense1"),
    _m("model_without_softmax", "model", "dense2 without activation='softmax' (outputs logits)",
       [(_DENSE2, "        self.dense2 = keras.layers.Dense(10)\n")],
       r"activation='softmax'", "model: missing softmax"),
    _m("model_softmax_twice", "model", "applies softmax again on dense2's probabilities",
       [("        return self.dense2(x)\n", "        return keras.activations.softmax(self.dense2(x))\n")],
       r"softmax is applied twice"),
    _m("model_64_filters", "model", "conv1 with 64 filters",
       [(_CONV1, "        self.conv1 = keras.layers.Conv2D(64, 3, activation=\"relu\")\n")],
       r"filters", "model: wrong filter count"),
    _m("model_kernel_5", "model", "conv1 with 5x5 kernels",
       [(_CONV1, "        self.conv1 = keras.layers.Conv2D(32, 5, activation=\"relu\")\n")],
       r"kernel_size", "model: wrong kernel size"),
    _m("model_layer_created_in_call", "model",
       "creates dense1 inside call(), so every call makes new random weights",
       [(_DENSE1, ""),
        ("        x = self.dense1(x)\n",
         "        x = keras.layers.Dense(128, activation=\"relu\")(x)  # a new layer on every call\n")],
       r"create (every|each) layer once in __init__|create it in __init__", "model: layers created inside call"),
    _m("model_without_flatten", "model", "call() skips self.flatten",
       [("        x = self.flatten(x)\n", "")],
       r"without flatten|skips self\.flatten|through self\.flatten", "model: Flatten left out"),
    _m("model_rescales_inputs", "model", "call() divides the images by 255 again",
       [("        x = self.conv1(x)\n", "        x = self.conv1(x / 255.0)\n")],
       r"divides the images by 255"),
]

# --- training ------------------------------------------------------------------------

_APPLY = (
    "        self.optimizer.apply_gradients(\n"
    "            zip(gradients, self.model.trainable_variables)\n"
    "        )\n"
)
_TEST_STEP = (
    "        predictions = self.model(inputs, training=False)\n"
    "        loss = self.loss_function(labels, predictions)\n"
    "        self.test_loss(loss)\n"
    "        self.test_accuracy(labels, predictions)\n"
)

TRAINING = [
    _m("reset_metrics_train_only", "training", "reset_metrics resets the train metrics only",
       [("            self.test_loss,\n            self.test_accuracy,\n", "")],
       r"test_(loss|accuracy).*(not reset|carry over)"),
    _m("fit_prints_per_batch", "training", "fit prints a line after every batch",
       [("                self.train_step(inputs, labels)\n",
         "                self.train_step(inputs, labels)\n"
         "                print(f\"batch loss {float(self.train_loss.result()):.4f}\")\n")],
       r"not one per batch"),
    _m("train_gradients_not_applied", "training",
       "computes the gradients but never calls optimizer.apply_gradients",
       [(_APPLY, "")],
       r"weights did not change|gradients are never applied|step against the gradient",
       "training: gradients computed but not applied"),
    _m("train_step_training_false", "training", "calls the model with training=False in train_step",
       [("            predictions = self.model(inputs, training=True)\n",
         "            predictions = self.model(inputs, training=False)\n")],
       r"self\.model\(inputs, training=True\) in the train step", "training: training=False in the train step"),
    _m("train_loss_outside_tape", "training",
       "computes the loss after the `with tf.GradientTape()` block: every gradient is None",
       [("            loss = self.loss_function(labels, predictions)\n",
         "        loss = self.loss_function(labels, predictions)\n")],
       r"inside the `with tf\.GradientTape\(\)", "training: loss computed outside the tape"),
    _m("test_step_trains", "training", "test_step copied from train_step: it applies gradients too",
       [(_TEST_STEP,
         "        with tf.GradientTape() as tape:\n"
         "            predictions = self.model(inputs, training=False)\n"
         "            loss = self.loss_function(labels, predictions)\n"
         "        gradients = tape.gradient(loss, self.model.trainable_variables)\n"
         "        self.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables))\n"
         "        self.test_loss(loss)\n"
         "        self.test_accuracy(labels, predictions)\n")],
       r"test step only measures|test step trains", "training: test step that trains"),
    _m("test_step_updates_train_metrics", "training", "test_step updates train_loss and train_accuracy",
       [(_TEST_STEP,
         "        predictions = self.model(inputs, training=False)\n"
         "        loss = self.loss_function(labels, predictions)\n"
         "        self.train_loss(loss)\n"
         "        self.train_accuracy(labels, predictions)\n")],
       r"test step updated? the train metrics", "training: test step that updates the train metrics"),
    _m("fit_never_resets_metrics", "training", "fit never calls reset_metrics()",
       [("            self.reset_metrics()\n", "")],
       r"never reset", "training: metrics never reset between epochs"),
    _m("fit_trains_on_test_data", "training", "fit runs train_step on the test batches",
       [("            for inputs, labels in train_data:\n", "            for inputs, labels in test_data:\n")],
       r"trains on the test data", "training: fit trains on the test data"),
    _m("fit_accuracy_in_percent", "training", "fit records the accuracies as percentages (x 100)",
       [("                \"train_accuracy\": float(self.train_accuracy.result()),\n",
         "                \"train_accuracy\": float(self.train_accuracy.result()) * 100,\n"),
        ("                \"test_accuracy\": float(self.test_accuracy.result()),\n",
         "                \"test_accuracy\": float(self.test_accuracy.result()) * 100,\n")],
       r"accuracies are percentages"),
    _m("reset_states_keras2", "training", "the lesson's Keras 2 spelling metric.reset_states()",
       [("            metric.reset_state()\n", "            metric.reset_states()\n")],
       r"reset_states\(\) to reset_state\(\)"),
    _m("trainer_sgd", "training", "uses keras.optimizers.SGD() instead of Adam",
       [("        self.optimizer = keras.optimizers.Adam()\n", "        self.optimizer = keras.optimizers.SGD()\n")],
       r"SGD"),
]

# --- keras_model ---------------------------------------------------------------------

_COMPILE = (
    "    model.compile(\n"
    "        optimizer=\"adam\",\n"
    "        loss=\"sparse_categorical_crossentropy\",\n"
    "        metrics=[\"accuracy\"],\n"
    "    )\n"
)

KERAS_MODEL = [
    _m("keras_without_dropout", "keras_model", "leaves Dropout out",
       [("            keras.layers.Dropout(0.2),\n", "")],
       r"add keras\.layers\.Dropout\(0\.2\) between", "keras_model: dropout missing"),
    _m("keras_dropout_keep_rate", "keras_model", "Dropout(0.8): the fraction kept, not dropped",
       [("            keras.layers.Dropout(0.2),\n", "            keras.layers.Dropout(0.8),\n")],
       r"fraction of activations DROPPED", "keras_model: dropout at the wrong rate"),
    _m("keras_categorical_crossentropy", "keras_model",
       "compiles with categorical_crossentropy, which expects one-hot labels",
       [("        loss=\"sparse_categorical_crossentropy\",\n", "        loss=\"categorical_crossentropy\",\n")],
       r"categorical_crossentropy expects one-hot labels",
       "keras_model: categorical_crossentropy with integer labels"),
    _m("keras_not_compiled", "keras_model", "returns the model without compiling it",
       [(_COMPILE, "")],
       r"not compiled", "keras_model: not compiled"),
    _m("keras_input_with_channel", "keras_model", "declares keras.Input(shape=(28, 28, 1))",
       [("            keras.Input(shape=(28, 28)),\n", "            keras.Input(shape=(28, 28, 1)),\n")],
       r"without a channel axis", "keras_model: wrong input shape"),
    _m("keras_without_softmax", "keras_model", "last Dense without activation='softmax'",
       [("            keras.layers.Dense(10, activation=\"softmax\"),\n", "            keras.layers.Dense(10),\n")],
       r"activation='softmax'"),
    _m("keras_from_logits", "keras_model", "loss with from_logits=True on a softmax output",
       [("        loss=\"sparse_categorical_crossentropy\",\n",
         "        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),\n")],
       r"from_logits=False"),
]

MISTAKES: tuple[Mistake, ...] = tuple(CONVOLUTION + POOLING + ACTIVATIONS + PREPROCESSING + MODEL + TRAINING
                                      + KERAS_MODEL)
BY_ID = {mistake.id: mistake for mistake in MISTAKES}
