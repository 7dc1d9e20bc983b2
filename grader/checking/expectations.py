"""Assertion helpers for grader checks, with student-facing messages.

A check fails by raising ``CheckFailed`` (a wrong answer) or ``NotImplementedYet`` (an
untouched stub); the pytest plugin prints their message alone, never a traceback of
grader internals. Messages say what was called, what was expected, what came back, and
at most one hint for the likely mistake.

A check whose answer is an image (``conv2d``, ``max_pool2d``, ``normalize``) may opt in to
pictures: ``expect_close(..., pictures=Pictures(input))``. When it then fails on values,
the ``CheckFailed`` carries a ``Comparison`` (the input, the oracle's expected array, the
reply's actual array) in ``figures``; the feedback page (``grader.feedback_page``) draws
it in the grading process. Nothing is attached for a non-array, a wrong shape or
non-finite values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from grader.plain import ErrorRecord, Opaque

#: Tolerances for comparing floating-point answers with an oracle.
RTOL = 1e-5
ATOL = 1e-6
#: float32 work (Keras layers, TensorFlow ops) is compared more loosely.
RTOL_FLOAT32 = 1e-4
ATOL_FLOAT32 = 1e-4
#: A typical mistake's output is recognised up to rounding, even by exact checks (a mean
#: summed in another order differs in the last bit).
MISTAKE_RTOL = 1e-9


@dataclass(frozen=True)
class Pictures:
    """A check's opt-in to pictures of its failures: the ``input`` it called with, and which
    2-D slice of the input and of both outputs to draw (``index``, e.g. ``(0,)`` for the
    first image of a batch, ``(..., 0)`` for the first channel), described by ``note``."""

    input: np.ndarray
    index: tuple = ()
    note: str = ""


@dataclass(frozen=True)
class Comparison:
    """What a failed array check shows: its input, the expected and the actual output
    (plain arrays of the same shape: the oracle's, and the validated reply's)."""

    input: np.ndarray
    expected: np.ndarray
    actual: np.ndarray
    index: tuple = ()
    note: str = ""


class CheckFailed(AssertionError):
    """A wrong answer; the message is the whole report. ``figures``: the comparisons
    of a check that opted in to pictures (empty otherwise)."""

    def __init__(self, *args: Any, figures: Sequence[Comparison] = ()):
        super().__init__(*args)
        self.figures = tuple(figures)


class NotImplementedYet(CheckFailed):
    """The student has not written this part yet."""


def describe(value: Any) -> str:
    """Short description of an argument for messages: shapes, not contents."""
    if isinstance(value, np.ndarray):
        if value.size <= 6 and value.ndim <= 1:
            return np.array2string(value, separator=", ")
        return f"array{value.shape} {value.dtype}"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)) and len(value) > 6:
        return f"{type(value).__name__} of {len(value)}"
    return repr(value)


def call_text(function: str, args: Sequence[Any] = (), kwargs: dict | None = None) -> str:
    """``conv2d(array(5, 7) float64, array(3, 3) float64, stride=2)``."""
    parts = [describe(arg) for arg in args]
    parts += [f"{key}={describe(value)}" for key, value in (kwargs or {}).items()]
    return f"{function}({', '.join(parts)})"


def value_of(outcome: Any, what: str) -> Any:
    """The plain value of ``outcome``; a student exception becomes the check's failure."""
    __tracebackhide__ = True
    if isinstance(outcome, ErrorRecord):
        if outcome.not_implemented:
            # A generated stub names itself ("Trainer.__init__: not implemented yet - ...").
            stub = outcome.message.split(":", 1)[0] if "not implemented yet" in outcome.message else ""
            name = stub.removesuffix(".__init__") if stub and " " not in stub else what.split("(", 1)[0]
            raise NotImplementedYet(f"{name}: not implemented yet")
        raise CheckFailed(
            f"{what} raised {outcome.one_line()}\n{_indent(outcome.traceback.rstrip())}"
            + hint_for_error(outcome)
        )
    return outcome


def hint_for_error(error: ErrorRecord) -> str:
    """Hints for errors that usually mean the lesson's older Keras spelling."""
    text = f"{error.type}: {error.message}"
    known = {
        "reset_states": "Keras 3 renamed metric.reset_states() to reset_state().",
        "input_shape": "Keras 3: start a model with keras.Input(shape=...) instead of input_shape=.",
        "WorkerTimeout": "your code ran longer than the time limit; look for an endless loop.",
        "MemoryError": "your code used more memory than allowed.",
        "cannot convert float infinity to integer": "an integer array cannot hold -inf: pad integer images "
                                                    "with np.iinfo(image.dtype).min, float images with -np.inf.",
        "No gradients provided": "every gradient is None: call the model and compute the loss inside the "
                                 "`with tf.GradientTape() as tape:` block, so that the tape records them.",
    }
    for needle, hint in known.items():
        if needle in text:
            return f"\n  hint: {hint}"
    return ""


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def fail(what: str, problem: str, hint: str | None = None, figures: Sequence[Comparison] = ()) -> None:
    """Raise ``CheckFailed`` as ``what: problem`` plus an optional hint line (and ``figures``)."""
    __tracebackhide__ = True
    raise CheckFailed(f"{what}:\n  {problem}" + (f"\n  hint: {hint}" if hint else ""), figures=figures)


def expect_array(value: Any, what: str, type_name: str | None = None) -> np.ndarray:
    """``value`` must be a NumPy array (``type_name`` explains what it was otherwise)."""
    __tracebackhide__ = True
    if isinstance(value, np.ndarray):
        return value
    got = type_name or (value.type_name if isinstance(value, Opaque) else type(value).__name__)
    hint = None
    if "tensorflow" in got or "Tensor" in got:
        hint = "return a NumPy array (call .numpy() on a tensor, or use NumPy throughout)."
    fail(what, f"expected a NumPy array, got {got}", hint)


def expect_close(
    actual: Any,
    expected: np.ndarray,
    what: str,
    *,
    rtol: float = RTOL,
    atol: float = ATOL,
    mistakes: Iterable[tuple[np.ndarray, str]] = (),
    type_name: str | None = None,
    shape_hint: Callable[[tuple, tuple], str | None] | None = None,
    pictures: Pictures | None = None,
) -> np.ndarray:
    """``actual`` must be an array of ``expected``'s shape and (within tolerance) values.

    ``mistakes`` are ``(array a typical mistake produces, hint)`` pairs; the first one
    ``actual`` matches becomes the message's hint. ``shape_hint(actual_shape,
    expected_shape)`` gives a hint for a wrong shape that no mistake's output explains.
    ``pictures``: attach a ``Comparison`` to a failure on values (see the module docstring).
    """
    __tracebackhide__ = True
    actual = expect_array(actual, what, type_name)
    expected = np.asarray(expected)
    matched = _matching_mistake(actual, mistakes, max(rtol, MISTAKE_RTOL), atol)
    if actual.shape != expected.shape:
        if matched is None and shape_hint is not None:
            matched = shape_hint(actual.shape, expected.shape)
        fail(what, f"expected shape {expected.shape}, got {actual.shape}", matched)
    if actual.dtype.kind not in "biuf":
        fail(what, f"expected numbers, got an array of dtype {actual.dtype}")
    actual64 = actual.astype(np.float64)
    if not np.all(np.isfinite(actual64)) and np.all(np.isfinite(expected)):
        fail(what, "the result contains nan or inf", matched)
    close = np.isclose(actual64, expected, rtol=rtol, atol=atol, equal_nan=True)
    if not close.all():
        where = tuple(int(i) for i in np.argwhere(~close)[0])
        figures = ()
        if pictures is not None and type(actual) is np.ndarray:  # a plain array, finite, of the right shape
            figures = (Comparison(np.asarray(pictures.input), expected, actual64, pictures.index, pictures.note),)
        fail(
            what,
            f"values differ at {int((~close).sum())} of {close.size} positions; "
            f"e.g. at index {list(where)} expected {expected[where]:.6g}, got {actual64[where]:.6g}",
            matched,
            figures,
        )
    return actual


def _matching_mistake(actual, mistakes, rtol, atol) -> str | None:
    """The hint of the first mistake whose output equals ``actual``."""
    for candidate, hint in mistakes:
        candidate = np.asarray(candidate)
        if candidate.shape == actual.shape:
            try:
                if np.allclose(actual.astype(np.float64), candidate, rtol=rtol, atol=atol):
                    return hint
            except (TypeError, ValueError):
                continue
    return None


def expect_raises(outcome: Any, what: str, kinds: tuple[str, ...] = ("ValueError", "TypeError"),
                  hint: str = "validate the arguments first and raise ValueError/TypeError naming the argument.",
                  ) -> ErrorRecord:
    """``outcome`` must be an error of one of ``kinds`` (or a subclass) whose message is not
    empty; ``hint`` is the message's hint if the call returned normally."""
    __tracebackhide__ = True
    if isinstance(outcome, ErrorRecord):
        if outcome.not_implemented:
            value_of(outcome, what)
        if not outcome.is_a(*kinds):
            fail(what, f"expected {' or '.join(kinds)} (or a subclass), got {outcome.one_line()}")
        if not outcome.message.strip():
            fail(what, f"{outcome.type} raised without a message", "say which argument is wrong and why.")
        return outcome
    fail(what, f"expected {' or '.join(kinds)} for this bad input, but it returned normally", hint)


def student_call(student: Any, module: str, function: str, *args: Any, **kwargs: Any) -> dict:
    """Call ``module.function`` through the gateway; return ``{"result", "type", "mutated", "what"}``.

    A student exception fails the check (``value_of``); ``what`` is the call's text.
    """
    __tracebackhide__ = True
    what = call_text(function, args, kwargs)
    reply = value_of(student.call("common.call", module, function, *args, **kwargs), what)
    return {**reply, "what": what}


def student_raises(student: Any, module: str, function: str, *args: Any, **kwargs: Any) -> ErrorRecord:
    """The call must raise ValueError/TypeError with a message (bad-input checks)."""
    __tracebackhide__ = True
    what = call_text(function, args, kwargs)
    return expect_raises(student.call("common.call", module, function, *args, **kwargs), what)


def expect_untouched(reply: dict) -> None:
    """The call must not have modified any of its array arguments."""
    __tracebackhide__ = True
    changed = [index for index, flag in enumerate(reply["mutated"]) if flag]
    if changed:
        fail(reply["what"], f"it modified its input (argument {changed[0] + 1}) in place",
             "work on a copy (np.array(x, dtype=...)) or build a new array; never write into the caller's array.")
