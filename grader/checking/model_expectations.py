"""Check helpers shared by the model checks (``test_model.py``, ``test_keras_model.py``).

They read the plain descriptions the ``models`` probes return: a layer is a dict with
``class``, ``bases``, ``config`` and ``activation``; an output is an (N, 10) array.
"""

from __future__ import annotations

import numpy as np

from grader.checking.expectations import fail, value_of
from grader.plain import Opaque

#: Rows of a softmax output sum to 1 up to float32 rounding.
ROW_SUM_TOL = 1e-5
NO_SOFTMAX = ("the last layer needs activation='softmax': without it the outputs are raw "
              "scores (logits) and the rows do not sum to 1.")
BATCH_AXIS_SOFTMAX = ("the columns sum to 1, not the rows: softmax ran over the batch axis (axis=0). "
                      "Apply it over the classes, the last axis (Dense(10, activation='softmax') does).")


def layer_settings(layer: dict) -> dict:
    """A probed layer as ``{"class", <config keys>, "activation"}`` with canonical names.

    ``class`` is the Keras class the layer is an instance of (a student's subclass of
    Dense counts as Dense); ``activation`` is lower case without TensorFlow's ``_v2``.
    """
    activation = layer["activation"]
    return {
        "class": layer["bases"][0] if layer["bases"] else layer["class"],
        **layer["config"],
        "activation": activation.lower().removesuffix("_v2") if activation else activation,
    }


def expect_settings(what: str, settings: dict, expected: dict, hints: dict) -> None:
    """Every ``expected`` key must match; the first mismatch fails with its hint.

    A hint is a string or ``hint(got, settings) -> str``.
    """
    __tracebackhide__ = True
    for key, want in expected.items():
        got = settings.get(key)
        if got != want:
            hint = hints.get(key)
            fail(what, f"expected {key}={want!r}, got {key}={got!r}",
                 hint(got, settings) if callable(hint) else hint)


def expect_output_array(output, what: str) -> np.ndarray:
    """A probed model output must be a numeric array (a tensor, converted by the probe)."""
    __tracebackhide__ = True
    output = value_of(output, what)
    if not isinstance(output, np.ndarray):
        got = output.type_name if isinstance(output, Opaque) else type(output).__name__
        fail(what, f"returned {got}, expected a tensor of shape (N, 10)",
             "return the output of the last layer (a single tensor).")
    return output


def expect_probabilities(output: np.ndarray, what: str, rows: int, shape_hint: str | None = None) -> None:
    """``output`` must be ``(rows, 10)`` finite non-negative values, each row summing to 1."""
    __tracebackhide__ = True
    if output.shape != (rows, 10):
        fail(what, f"expected an output of shape ({rows}, 10), got {output.shape}", shape_hint)
    if not np.all(np.isfinite(output)):
        fail(what, "the output contains nan or inf")
    sums = output.astype(np.float64).sum(axis=1)
    worst = int(np.argmax(np.abs(sums - 1)))
    if abs(sums[worst] - 1) > ROW_SUM_TOL or output.min() < 0:
        columns = output.astype(np.float64).sum(axis=0)
        hint = BATCH_AXIS_SOFTMAX if np.allclose(columns, 1, atol=ROW_SUM_TOL) and output.min() >= 0 else NO_SOFTMAX
        fail(what, f"rows must be probabilities summing to 1 (tolerance {ROW_SUM_TOL:g}); "
                   f"row {worst} sums to {sums[worst]:.6g}, smallest value {output.min():.6g}", hint)
