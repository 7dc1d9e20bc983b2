"""Checks for ``activations.py``: ``relu`` and ``softmax`` (7 points; 1 more in
``test_activations_hidden.py``, withheld from a student release).

Oracles: ``np.maximum(x, 0)`` for relu, ``keras.activations.softmax`` (in float64) for
softmax. The hints come from computing what the typical mistakes produce (|x|, the
wrong axis, the whole array normalised at once, no division...) and seeing which one
the answer equals.
"""

import numpy as np
import pytest

from grader.checking import oracles
from grader.checking.expectations import (
    ATOL_FLOAT32,
    RTOL_FLOAT32,
    call_text,
    expect_array,
    expect_close,
    expect_raises,
    expect_untouched,
    fail,
    student_call,
    student_raises,
)

MODULE = "activations"

#: Errors a bad softmax call may raise; subclasses count (NumPy's AxisError is a ValueError).
AXIS_ERRORS = ("ValueError", "TypeError")

GLOBAL_MAX_HINT = (
    "the max was taken over the whole array, not per slice: a slice far below the global max "
    "underflows to exp(...) = 0 everywhere and gives 0/0 = nan. Take the max along `axis`: "
    "np.max(z, axis=axis, keepdims=True)."
)
STABILITY_HINT = (
    "subtract the max before exp: exp(1000) overflows to inf (and exp(-1000) underflows "
    "to 0), so the division gives nan. softmax(z) = softmax(z - max(z)); take the max of "
    "each slice, np.max(z, axis=axis, keepdims=True)."
)


# --- relu ------------------------------------------------------------------------------

def relu_mistakes(x):
    """(output of a typical mistake, hint) pairs for ``relu``."""
    return [
        (np.abs(x), "negative values became positive (|x|): relu replaces them by 0."),
        (x, "negative values were kept: relu(x) = max(x, 0) sets every negative entry to 0."),
        ((x > 0).astype(np.float64), "you returned the mask x > 0: keep the value x where it is positive."),
        (np.minimum(x, 0), "you kept the negative part: relu keeps max(x, 0), the positive part."),
    ]


def expect_relu(reply, x):
    """``reply`` (a relu call on ``x``) must equal np.maximum(x, 0), in x's dtype."""
    __tracebackhide__ = True
    result = expect_close(reply["result"], np.maximum(x, 0), reply["what"], mistakes=relu_mistakes(x),
                          type_name=reply["type"], rtol=0, atol=0)
    if result.dtype != x.dtype:
        fail(reply["what"], f"expected dtype {x.dtype} (the input's), got {result.dtype}",
             "keep the input's dtype: np.maximum(x, 0) does (a float constant like 0.0, or a mask "
             "multiplied by floats, turns an int or float32 input into float64).")


def relu_cases(rng):
    floats = rng.normal(size=(3, 4)).astype(np.float32)
    floats[0, :2] = 0.0
    return [
        floats,
        np.array([-3, -1, 0, 2, 5], dtype=np.int64),
        rng.integers(-9, 10, size=(2, 3, 2)).astype(np.int32),
        rng.normal(size=7),
    ]


@pytest.mark.points(2)
def test_relu_matches_maximum(student, rng):
    """relu equals np.maximum(x, 0), keeping the shape and dtype (float32 and int inputs)"""
    for x in relu_cases(rng):
        expect_relu(student_call(student, MODULE, "relu", x), x)


@pytest.mark.points(1)
def test_relu_leaves_input_untouched(student, rng):
    """relu returns a new array and does not modify its input"""
    for x in relu_cases(rng)[::3]:  # float32 and float64: dtype slips are the other check's
        reply = student_call(student, MODULE, "relu", x)
        expect_untouched(reply)
        expect_relu(reply, x)


# --- softmax ---------------------------------------------------------------------------

def softmax_mistakes(logits, axis):
    """(output of a typical mistake, hint) pairs for ``softmax(logits, axis)``."""
    own = axis % logits.ndim
    mistakes = [
        (oracles.softmax(logits, other),
         f"your slices along axis {other} sum to 1, but softmax(..., axis={axis}) must normalise "
         f"along axis {axis}: use np.max/np.sum(..., axis=axis, keepdims=True).")
        for other in range(logits.ndim) if other != own and logits.shape[other] > 1
    ]
    with np.errstate(all="ignore"):  # the naive mistakes overflow on purpose
        exps = np.exp(logits)
        mistakes += [
            (exps / exps.sum(), "the whole array sums to 1: normalise each slice along `axis` on its "
                                "own (np.sum(..., axis=axis, keepdims=True))."),
            (exps, "the exponentials were not divided by their sum: softmax(z) = exp(z) / sum(exp(z))."),
            (np.exp(logits - logits.max(axis=own, keepdims=True)),
             "the shifted exponentials were not divided by their sum: softmax(z) = exp(z) / sum(exp(z))."),
        ]
        try:  # a sum without keepdims broadcasts along the wrong axis when the shapes allow it
            mistakes.append((exps / exps.sum(axis=own), "the sums were broadcast along the wrong "
                                                        "axis: use np.sum(..., axis=axis, keepdims=True)."))
        except ValueError:
            pass
    return mistakes


def global_max_softmax(logits, axis):
    """softmax shifted by the max of the whole array (the mistake), as NumPy computes it."""
    with np.errstate(all="ignore"):
        exps = np.exp(logits - np.max(logits))
        return exps / exps.sum(axis=axis, keepdims=True)


def _same_with_nan(result, candidate) -> bool:
    """Equal up to rounding, nan where ``candidate`` has nan."""
    return bool(np.isnan(candidate).any()) and np.allclose(
        result.astype(np.float64), candidate, rtol=1e-4, atol=1e-6, equal_nan=True)


def check_softmax(student, logits, **kwargs):
    """softmax(logits, **kwargs) must be finite, equal keras' softmax, and sum to 1."""
    __tracebackhide__ = True
    axis = kwargs.get("axis", -1)
    reply = student_call(student, MODULE, "softmax", logits, **kwargs)
    expected = oracles.softmax(logits, axis)
    result = expect_array(reply["result"], reply["what"], reply["type"])
    if result.shape == expected.shape and result.dtype.kind in "biuf" and not np.isfinite(result).all():
        fail(reply["what"], "the result contains nan or inf",
             GLOBAL_MAX_HINT if _same_with_nan(result, global_max_softmax(logits, axis)) else STABILITY_HINT)
    mistakes = softmax_mistakes(logits, axis)
    if result.shape == expected.shape and result.dtype.kind in "biuf":
        sums = result.astype(np.float64).sum(axis=axis)
        if not np.allclose(sums, 1, atol=1e-4):  # last resort: a hint from the answer itself
            mistakes.append((result, f"the slices along axis {axis} must sum to 1, yours sum to "
                                     f"{sums.flat[0]:.4g}, ...: divide exp(z) by its sum along axis."))
    float32 = logits.dtype == np.float32
    expect_close(result, expected, reply["what"], mistakes=mistakes,
                 rtol=RTOL_FLOAT32 if float32 else 1e-6, atol=ATOL_FLOAT32 if float32 else 1e-9)


@pytest.mark.points(1)
def test_softmax_matches_keras(student, rng):
    """softmax equals keras.activations.softmax on random 2-D and 3-D logits; rows sum to 1"""
    for shape in [(3, 5), (2, 3, 4), (6,)]:
        check_softmax(student, rng.normal(scale=3, size=shape))


@pytest.mark.points(1)
def test_softmax_axis(student, rng):
    """softmax normalises along the `axis` it is given (axis=0, axis=1, axis=-2)"""
    cases = [((4, 6), 0), ((4, 6), 1), ((4, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), 0), ((3, 5, 2), -2)]
    for shape, axis in cases:
        check_softmax(student, rng.normal(scale=3, size=shape), axis=axis)


@pytest.mark.points(1)
def test_softmax_is_stable(student):
    """softmax of huge logits like [1000, 1001, 1002] gives no nan/inf"""
    cases = [
        np.array([1000.0, 1001.0, 1002.0]),
        np.array([[-1000.0, -1001.0, -1002.0], [1000.0, 0.0, -1000.0]]),
        np.array([[1000.0, 1001.0, 1002.0]], dtype=np.float32),
    ]
    for logits in cases:
        check_softmax(student, logits)


BAD_RELU_INPUT = ["not numbers", ["a", "b"]]
BAD_SOFTMAX_CALLS = [
    ("text", ("not numbers",), {}),
    ("a list of strings", (["a", "b"],), {}),
    ("axis out of range", (np.zeros((2, 3)),), {"axis": 2}),
    ("negative axis out of range", (np.zeros((2, 3)),), {"axis": -3}),
    ("an empty array", (np.array([]),), {}),
    ("an empty batch", (np.zeros((0, 4)),), {}),
]


@pytest.mark.points(1)
def test_activations_reject_bad_input(student):
    """relu and softmax reject bad input (text, axis out of range, empty) with ValueError/TypeError"""
    for x in BAD_RELU_INPUT:
        student_raises(student, MODULE, "relu", x)
    for _, args, kwargs in BAD_SOFTMAX_CALLS:
        outcome = student.call("common.call", MODULE, "softmax", *args, **kwargs)
        expect_raises(outcome, call_text("softmax", args, kwargs), AXIS_ERRORS)
