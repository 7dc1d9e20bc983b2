"""Checks for ``keras_model.py``: ``build_keras_model()`` (5 points; 1 more in
``test_keras_model_hidden.py``, withheld from a student release, and 6 for its accuracy bar).

One probe (``models.keras_model``) builds the student's model and describes it as
plain data: class, input shape, layers and their settings, compile settings,
parameter count, and its outputs on a fixed batch in inference mode. The accuracy bar
for this model is checked elsewhere.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.checking.expectations import describe, fail, value_of
from grader.checking.model_expectations import (
    expect_output_array,
    expect_probabilities,
    expect_settings,
    layer_settings,
)

BUILD = "build_keras_model()"
BATCH = 8
#: ``predict`` (a compiled graph) and an eager call agree to float32 rounding.
INFERENCE_TOL = 1e-5

INPUT_SHAPE = [None, 28, 28]
PARAMS = 101_770
#: Parameter count without Flatten: each Dense works on the 28 pixels of one image row.
FLATTEN_LEFT_OUT = (28 * 128 + 128) + (128 * 10 + 10)
LAYERS = [
    {"class": "Flatten"},
    {"class": "Dense", "units": 128, "activation": "relu"},
    {"class": "Dropout", "rate": 0.2},
    {"class": "Dense", "units": 10, "activation": "softmax"},
]
LAYERS_TEXT = "Flatten(), Dense(128, activation='relu'), Dropout(0.2), Dense(10, activation='softmax')"
NO_SOFTMAX = ("the last layer needs activation='softmax': without it the outputs are raw scores "
              "(logits), the rows do not sum to 1, and the loss expects probabilities.")
LAYER_HINTS = [
    {},
    {"units": "the hidden layer has 128 units.",
     "activation": "pass activation='relu' to Dense(128): without it the two Dense layers "
                   "collapse into one linear map."},
    {"rate": lambda got, _: (
        "rate is the fraction of activations DROPPED (0.2), not the fraction kept."
        if got is not None and abs(got - 0.8) < 1e-9 else "Dropout(0.2) drops 20% of the activations while training.")},
    {"units": "one output per digit: Dense(10, activation='softmax').", "activation": NO_SOFTMAX},
]
COMPILE_TEXT = "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])"
SPARSE_LOSS = "sparsecategoricalcrossentropy"
ACCURACY_NAMES = {"accuracy", "acc", "sparsecategoricalaccuracy"}


def canonical(name: str) -> str:
    """``'Sparse_Categorical_Crossentropy'`` -> ``'sparsecategoricalcrossentropy'``."""
    return name.lower().replace("_", "").replace(" ", "")


def shape_text(shape) -> str:
    return str(tuple(shape)) if isinstance(shape, list) else str(shape)


@pytest.fixture(scope="module")
def images(grader_seed: int) -> np.ndarray:
    """A fixed batch of float32 'images' in [0, 1], shape (BATCH, 28, 28), as loaded."""
    return np.random.default_rng([grader_seed, 28]).random((BATCH, 28, 28), dtype=np.float32)


@pytest.fixture(scope="module")
def probed(student, images):
    """``models.keras_model`` on the batch: the model's description, or the builder's error."""
    return student.call("models.keras_model", images)


def model_info(probed) -> dict:
    """The description of a Keras model the student's builder returned (else the check fails)."""
    __tracebackhide__ = True
    info = value_of(probed, BUILD)
    if not info["is_model"]:
        fail(BUILD, f"returned {info['type']}, expected a compiled keras.Sequential",
             "end build_keras_model with `return model`." if info["type"] == "builtins.NoneType"
             else "build the model with keras.Sequential([...]) and return it.")
    return info


@pytest.mark.points(1)
def test_sequential_with_input_28x28(probed):
    """build_keras_model() returns a keras.Sequential whose input shape is (None, 28, 28)"""
    info = model_info(probed)
    if not info["is_sequential"]:
        fail(BUILD, f"returned a {info['type']}, expected a keras.Sequential",
             "build it as keras.Sequential([keras.Input(shape=(28, 28)), ...]).")
    shape = info["input_shape"]
    if shape == INPUT_SHAPE:
        return
    hints = {
        None: "the model has no input shape: start the list with keras.Input(shape=(28, 28)).",
        str([None, 28, 28, 1]): "this model takes the images as loaded, without a channel axis: "
                                "keras.Input(shape=(28, 28)).",
        str([None, 784]): "Flatten does the reshaping: the input is one (28, 28) image, keras.Input(shape=(28, 28)).",
    }
    fail(f"{BUILD}.input_shape", f"expected {shape_text(INPUT_SHAPE)}, got {shape_text(shape)}",
         hints.get(None if shape is None else str(shape),
                   "keras.Input(shape=(28, 28)) declares one image; the batch axis (None) is implicit."))


def layer_order_hint(classes: list[str]) -> str:
    if classes == ["Flatten", "Dense", "Dense"]:
        return "add keras.layers.Dropout(0.2) between the two Dense layers."
    if "Dropout" in classes and sorted(classes) == sorted(layer["class"] for layer in LAYERS):
        return "Dropout(0.2) goes right after Dense(128): it drops hidden activations, not pixels or outputs."
    if "Flatten" not in classes:
        return "start with keras.layers.Flatten() so that each image becomes one row of 784 pixels."
    if classes[-1:] in (["Softmax"], ["Activation"]):
        return "give the last Dense activation='softmax' instead of adding a separate layer."
    return f"keras.Input is not a layer; after it come {LAYERS_TEXT}."


@pytest.mark.points(1)
def test_layers(probed):
    """build_keras_model() has the layers Flatten, Dense(128, relu), Dropout(0.2), Dense(10, softmax) in order"""
    info = model_info(probed)
    # A functional model lists its Input as a layer; being Sequential is another check's business.
    settings = [layer_settings(layer) for layer in info["layers"] if layer["class"] != "InputLayer"]
    classes = [layer["class"] for layer in settings]
    expected = [layer["class"] for layer in LAYERS]
    if classes != expected:
        fail(f"{BUILD}.layers", f"expected layers {', '.join(expected)}, got {', '.join(classes) or 'none'}",
             layer_order_hint(classes))
    for index, (got, want, hints) in enumerate(zip(settings, LAYERS, LAYER_HINTS)):
        expect_settings(f"{BUILD}.layers[{index}]", got, want, hints)


@pytest.mark.points(1)
def test_compiled_adam_sparse_ce_accuracy(probed):
    """build_keras_model() compiles with adam, sparse categorical cross-entropy and accuracy"""
    info = model_info(probed)
    if not info["compiled"]:
        fail(BUILD, "the returned model is not compiled", f"call {COMPILE_TEXT} before returning it.")
    if info["optimizer"] != "Adam":
        fail(f"{BUILD}.optimizer", f"expected Adam, got {info['optimizer']}", "compile with optimizer='adam'.")
    loss = info["loss"] or {"names": [], "from_logits": None}
    names = {canonical(name) for name in loss["names"]}
    if SPARSE_LOSS not in names:
        hint = ("categorical_crossentropy expects one-hot labels; MNIST labels are integers -> use "
                "sparse_categorical_crossentropy." if "categoricalcrossentropy" in names
                else "compile with loss='sparse_categorical_crossentropy'.")
        fail(f"{BUILD}.loss",
             f"expected sparse categorical cross-entropy, got {', '.join(loss['names']) or None}", hint)
    if loss["from_logits"]:
        fail(f"{BUILD}.loss", "expected from_logits=False, got from_logits=True",
             "the last layer already applies softmax, so the loss gets probabilities: keep from_logits=False.")
    metrics = [canonical(name) for name in info["metrics"]]
    if not ACCURACY_NAMES & set(metrics):
        hint = ("categorical_accuracy expects one-hot labels; metrics=['accuracy'] picks the right one "
                "for integer labels." if "categoricalaccuracy" in metrics else "compile with metrics=['accuracy'].")
        fail(f"{BUILD} compile metrics", f"expected accuracy among them, got {info['metrics'] or 'none'}", hint)


@pytest.mark.points(1)
def test_parameter_count(probed):
    """build_keras_model() has 101,770 parameters (784*128 + 128 + 128*10 + 10)"""
    info = model_info(probed)
    params = info["params"]
    if params == PARAMS:
        return
    if params is None:
        fail(f"{BUILD}.count_params()", "the model is not built, so it has no weights yet",
             "start the Sequential with keras.Input(shape=(28, 28)).")
    per_layer = ", ".join(f"{layer['class']} {layer['params']:,}" for layer in info["layers"]
                          if isinstance(layer["params"], int))
    fail(f"{BUILD}.count_params()", f"expected {PARAMS:,}, got {params:,} ({per_layer})",
         "without Flatten, each Dense works on one 28-pixel row at a time: put Flatten() first."
         if params == FLATTEN_LEFT_OUT else
         "per layer: Dense(128) 784*128 + 128 = 100,480, Dense(10) 128*10 + 10 = 1,290, Flatten and Dropout 0.")


@pytest.mark.points(1)
def test_inference_output(probed, images):
    """build_keras_model() predicts (N, 10) probabilities, the same on every call (dropout off at inference)"""
    check_inference_output(probed, images)


def check_inference_output(probed, images):
    """The probed model's outputs on ``images``: (N, 10) probabilities, ``predict`` equal to a call."""
    __tracebackhide__ = True
    info = model_info(probed)
    call = f"model({describe(images)}, training=False) with model = {BUILD}"
    output = expect_output_array(info["output"], call)
    expect_probabilities(output, call, len(images), "the output kept the image rows: put Flatten() first."
                         if output.ndim == 3 else None)
    for attempt, prediction in enumerate(info["predictions"], 1):
        what = f"model.predict({describe(images)}), call {attempt} of 2, with model = {BUILD}"
        prediction = expect_output_array(prediction, what)
        if prediction.shape != output.shape or not np.allclose(prediction, output, rtol=0, atol=INFERENCE_TOL):
            diff = (f"by up to {np.abs(prediction - output).max():.3g}"
                    if prediction.shape == output.shape else f"in shape, {prediction.shape}")
            fail(what, f"differs from model(x, training=False) {diff}: the model is random at inference",
                 "use keras.layers.Dropout, which drops activations only when training=True.")
