"""Generic probes: call one student function and report what came back."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from grader.probes import ProbeContext, probe


@probe
def call(ctx: ProbeContext, module: str, function: str, *args: Any, **kwargs: Any) -> dict:
    """Call ``module.function(*args, **kwargs)``.

    Returns ``{"result": <plain>, "type": <type name>, "mutated": [bool per positional
    argument]}``; an exception propagates (the gateway records it).
    """
    before = [copy.deepcopy(arg) for arg in args]
    result = getattr(ctx.module(module), function)(*args, **kwargs)
    return {
        "result": result,
        "type": f"{type(result).__module__}.{type(result).__qualname__}",
        "mutated": [not _same(old, new) for old, new in zip(before, args)],
    }


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, np.ndarray):
        return (
            isinstance(new, np.ndarray)
            and old.dtype == new.dtype
            and old.shape == new.shape
            and np.array_equal(old, new, equal_nan=old.dtype.kind in "fc")
        )
    return bool(old == new) if not isinstance(old, (list, tuple)) else list(old) == list(new)
