"""Checks for ``model.py``: the subclassed CNN ``MNISTModel`` (9 points; 1 more in
``test_model_hidden.py``, withheld from a student release, and 4 for its accuracy bar).

One probe (``models.mnist_model``) builds the student's model, calls it twice on a
fixed batch and describes it as plain data: layer classes and settings, weights,
parameter count, outputs. The oracle is the lesson's network as a float64 Keras
``Sequential`` given the student's own weights, so a wiring mistake in ``call`` shows
even when every layer is right. The accuracy bar for this model is checked elsewhere.

The helpers ``layer_settings``, ``expect_settings`` and ``expect_probabilities`` are
shared with ``test_keras_model.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.checking import oracles
from grader.checking.expectations import (
    ATOL_FLOAT32,
    RTOL_FLOAT32,
    describe,
    expect_close,
    fail,
    value_of,
)
from grader.checking.model_expectations import (
    BATCH_AXIS_SOFTMAX,
    NO_SOFTMAX,
    expect_output_array,
    expect_probabilities,
    expect_settings,
    layer_settings,
)

BATCH = 8
#: Two calls of one model on one batch must agree to float32 rounding (nothing random).
REPEAT_TOL = 1e-6

PARAMS = 2_770_634
#: Parameter counts of typical mistakes, from the layer formulas (weights + biases).
FLATTEN_LEFT_OUT = (3 * 3 * 32 + 32) + (32 * 128 + 128) + (128 * 10 + 10)
SAME_PADDING = (3 * 3 * 32 + 32) + (28 * 28 * 32 * 128 + 128) + (128 * 10 + 10)

LAYER_CLASSES = {"conv1": "Conv2D", "flatten": "Flatten", "dense1": "Dense", "dense2": "Dense"}
CONV1 = {"class": "Conv2D", "filters": 32, "kernel_size": [3, 3], "strides": [1, 1],
         "padding": "valid", "activation": "relu"}
DENSE1 = {"class": "Dense", "units": 128, "activation": "relu"}
DENSE2 = {"class": "Dense", "units": 10, "activation": "softmax"}

CONV1_HINTS = {
    "filters": lambda got, settings: (
        "the arguments are swapped: Conv2D(filters, kernel_size) is Conv2D(32, 3)."
        if settings.get("kernel_size") == [32, 32]
        else "filters is the number of feature maps conv1 produces: 32."),
    "kernel_size": "kernel_size=3 means a 3x3 window (Keras turns 3 into (3, 3)).",
    "strides": "keep the default strides=1: the window moves one pixel at a time.",
    "padding": "keep the default padding='valid': 28x28 becomes 26x26, which the "
               "2,770,634 parameters assume.",
    "activation": "pass activation='relu' to the Conv2D: without it conv1 is linear.",
}
DENSE1_HINTS = {
    "units": "dense1 has 128 units: Dense(128, activation='relu').",
    "activation": "pass activation='relu' to dense1: without it dense1 and dense2 collapse "
                  "into a single linear map before the softmax.",
}
DENSE2_HINTS = {"units": "one output per digit: Dense(10, activation='softmax').", "activation": NO_SOFTMAX}


# --- the probe, run once per module ------------------------------------------------------

CONSTRUCT = "MNISTModel()"


@pytest.fixture(scope="module")
def images(grader_seed: int) -> np.ndarray:
    """A fixed batch of float32 'images' in [0, 1], shape (BATCH, 28, 28, 1)."""
    return np.random.default_rng(grader_seed).random((BATCH, 28, 28, 1), dtype=np.float32)


@pytest.fixture(scope="module")
def probed(student, images):
    """``models.mnist_model`` on the batch: the model's description, or the constructor's error."""
    return student.call("models.mnist_model", images)


def call_text(images: np.ndarray) -> str:
    return f"MNISTModel()({describe(images)})"


def model_info(probed) -> dict:
    """The description of a model that could be built (else the check fails)."""
    __tracebackhide__ = True
    return value_of(probed, CONSTRUCT)


def called(probed, images) -> tuple[dict, np.ndarray]:
    """The description and the first output of a model whose call worked."""
    __tracebackhide__ = True
    info = model_info(probed)
    return info, expect_output_array(info["output"], call_text(images))


def layer(info: dict, name: str) -> dict:
    """The probed layer ``self.<name>`` (the check fails if the model has none)."""
    __tracebackhide__ = True
    found = info["layers"][name]
    if found is None:
        fail(CONSTRUCT, f"the model has no attribute {name}",
             f"create it in __init__: self.{name} = keras.layers.{LAYER_CLASSES[name]}(...).")
    return found


# --- checks ---------------------------------------------------------------------------

@pytest.mark.points(1)
def test_model_has_the_four_layers(probed):
    """MNISTModel() is a keras.Model with layers conv1, flatten, dense1, dense2 of the right classes"""
    info = model_info(probed)
    if not info["is_keras_model"]:
        fail(CONSTRUCT, f"built a {info['type']}, expected a subclass of keras.Model",
             "declare class MNISTModel(keras.Model) and call super().__init__(**kwargs) first.")
    for name, kind in LAYER_CLASSES.items():
        found = layer(info, name)
        if kind not in found["bases"]:
            fail(f"{CONSTRUCT}.{name}", f"expected a keras.layers.{kind}, got {found['class']}",
                 f"self.{name} = keras.layers.{kind}(...).")


@pytest.mark.points(2)
def test_conv1_settings(probed):
    """conv1 is Conv2D(32, 3, activation='relu') with stride 1 and 'valid' padding"""
    found = layer(model_info(probed), "conv1")
    expect_settings(f"{CONSTRUCT}.conv1", layer_settings(found), CONV1, CONV1_HINTS)


@pytest.mark.points(2)
def test_dense_layers_settings(probed):
    """dense1 is Dense(128, activation='relu') and dense2 is Dense(10, activation='softmax')"""
    info = model_info(probed)
    for name, expected, hints in (("dense1", DENSE1, DENSE1_HINTS), ("dense2", DENSE2, DENSE2_HINTS)):
        expect_settings(f"{CONSTRUCT}.{name}", layer_settings(layer(info, name)), expected, hints)


@pytest.mark.points(1)
def test_parameter_count(probed, images):
    """MNISTModel has 2,770,634 parameters on 28x28x1 images"""
    info, _ = called(probed, images)
    params = info["params"]
    if params == PARAMS:
        return
    per_layer = ", ".join(
        f"{name} {found['params']:,}" for name, found in info["layers"].items()
        if found is not None and isinstance(found["params"], int)
    )
    hints = {
        FLATTEN_LEFT_OUT: "this is the count without Flatten: Dense then works on each of the "
                          "26x26 positions separately; call self.flatten between conv1 and dense1.",
        SAME_PADDING: "this is the count with padding='same' (28x28 feature maps): keep 'valid'.",
    }
    unused = [name for name in ("conv1", "dense1", "dense2")
              if info["layers"][name] is not None and info["layers"][name]["params"] is None]
    if unused:
        hints[params] = f"{unused[0]} has no weights: call() never uses self.{unused[0]}."
    fail(f"model = {CONSTRUCT}; model({describe(images)}); model.count_params()",
         f"expected {PARAMS:,} parameters, got {params if params is None else format(params, ',')}"
         + (f" ({per_layer})" if per_layer else ""),
         hints.get(params) or layer_params_hint(info, params))


#: Parameters per layer of the lesson's network, with the formula.
LAYER_PARAMS = {
    "conv1": (320, "3*3*1*32 + 32 = 320: 32 filters of 3x3 on 1 channel; check filters and kernel_size"),
    "dense1": (2_769_024, "(26*26*32)*128 + 128 = 2,769,024"),
    "dense2": (1_290, "128*10 + 10 = 1,290"),
}


def layer_params_hint(info: dict, params) -> str:
    """Name the first layer whose parameter count differs from the lesson's, with its formula."""
    for name, (expected, formula) in LAYER_PARAMS.items():
        found = info["layers"][name]
        if found is None and isinstance(params, int) and params == PARAMS - expected:
            return (f"exactly {name}'s {expected:,} parameters are missing: create it in __init__ "
                    f"(self.{name} = keras.layers.{LAYER_CLASSES[name]}(...)) and use it in call().")
        got = None if found is None else found["params"]
        if isinstance(got, int) and got != expected:
            return f"{name} has {got:,} parameters, expected {formula}."
    return ("per layer: conv1 3*3*1*32 + 32 = 320, dense1 (26*26*32)*128 + 128 = 2,769,024, "
            "dense2 128*10 + 10 = 1,290.")


@pytest.mark.points(1)
def test_output_is_probabilities(probed, images):
    """MNISTModel()(images) returns (N, 10) probabilities: every row sums to 1"""
    _, output = called(probed, images)
    shape_hint = ("the output kept the image axes: pass x through self.flatten before dense1."
                  if output.ndim == 4 else None)
    expect_probabilities(output, call_text(images), BATCH, shape_hint)


@pytest.mark.points(1)
def test_layers_created_in_init(probed, images):
    """MNISTModel creates its layers in __init__: a second call adds no weights, gives the same output"""
    info, first = called(probed, images)
    hint = ("create every layer once in __init__ (self.dense1 = keras.layers.Dense(...)) and only "
            "use them in call(): a layer made inside call() starts from new random weights each time.")
    what = f"model = {CONSTRUCT}; model(x); model(x) with the same x = {describe(images)}"
    second = expect_output_array(info["second_output"], f"the second call of {what}")
    before, after = info["weight_paths"], info["second_weight_paths"]
    if before != after:
        fail(what, f"the model had {len(before)} weights after the first call and {len(after)} after "
                   f"the second (new: {sorted(set(after) - set(before))[:3]})", hint)
    if second.shape != first.shape or not np.allclose(first, second, rtol=0, atol=REPEAT_TOL):
        diff = (f"largest difference {np.abs(first - second).max():.3g}" if second.shape == first.shape
                else f"shapes {first.shape} and {second.shape}")
        fail(what, f"the two calls returned different outputs ({diff})", hint)


def student_weights(info: dict) -> list[np.ndarray]:
    """conv1, dense1, dense2 kernels and biases, in the oracle's order."""
    __tracebackhide__ = True
    weights = []
    for name in ("conv1", "dense1", "dense2"):
        found = layer(info, name)
        if not found["weights"]:
            fail(f"model = {CONSTRUCT}; model(x)", f"{name} has no weights after the call",
                 f"call() never uses self.{name}: pass x through conv1, flatten, dense1, dense2 in turn.")
        weights += [item["value"] for item in found["weights"]]
    shapes = [tuple(np.shape(weight)) for weight in weights]
    if shapes != list(oracles.MNIST_CNN_WEIGHT_SHAPES):
        fail(f"model = {CONSTRUCT}; model(x)",
             f"conv1, dense1, dense2 have weights of shapes {shapes}; the lesson's network has "
             f"{list(oracles.MNIST_CNN_WEIGHT_SHAPES)}", weight_shapes_hint(shapes))
    return weights


def weight_shapes_hint(shapes: list[tuple]) -> str:
    """The setting a wrong weight shape points at (the first weight that differs)."""
    reference = oracles.MNIST_CNN_WEIGHT_SHAPES
    conv = shapes[0] if shapes else ()
    if len(conv) == 4 and conv[:2] != reference[0][:2]:
        return f"conv1's kernels are {conv[0]}x{conv[1]}: kernel_size must be 3 (a 3x3 window)."
    if len(conv) == 4 and conv[3] != reference[0][3]:
        return f"conv1 has {conv[3]} filters: filters must be 32, Conv2D(32, 3)."
    if len(shapes) > 2 and shapes[2][:1] == (reference[0][3],):
        return "dense1 sees 32 features per position: call() skips self.flatten."
    if len(shapes) > 2 and shapes[2][:1] == (28 * 28 * 32,):
        return "dense1 sees 28*28*32 features: conv1 must use padding='valid', which gives 26x26 maps."
    return "the layer checks say which setting differs; call() must run conv1, flatten, dense1, dense2 in turn."


@pytest.mark.points(1)
def test_call_matches_reference(probed, images):
    """MNISTModel.call chains conv1 -> flatten -> dense1 -> dense2 (same output as the lesson's network)"""
    check_call_matches_reference(probed, images)


def check_call_matches_reference(probed, images):
    """The probed model's output on ``images`` must equal the lesson's network given its weights."""
    __tracebackhide__ = True
    info, output = called(probed, images)
    weights = student_weights(info)
    expected = oracles.mnist_cnn(images, weights)
    mistakes = [
        (oracles.softmax(expected), "softmax is applied twice: dense2 already has it, so call() "
                                    "returns self.dense2(x) as it is."),
        (oracles.mnist_cnn(images / 255, weights),
         "call() divides the images by 255: they arrive already scaled to [0, 1]."),
        (oracles.mnist_cnn(images, weights, conv_activation="linear"), "conv1's ReLU is not applied."),
        (oracles.mnist_cnn(images, weights, hidden_activation="linear"), "dense1's ReLU is not applied."),
        (oracles.mnist_cnn(images, weights, output_activation="linear"), NO_SOFTMAX),
        (oracles.softmax(expected, axis=0), BATCH_AXIS_SOFTMAX),
        (oracles.softmax(oracles.mnist_cnn(images, weights, output_activation="linear"), axis=0),
         BATCH_AXIS_SOFTMAX),
    ]
    expect_close(output, expected,
                 f"{call_text(images)} vs. the lesson's Sequential with your model's weights",
                 rtol=RTOL_FLOAT32, atol=ATOL_FLOAT32, mistakes=mistakes)
