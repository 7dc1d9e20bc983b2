"""Probes for ``preprocessing.make_datasets``: run the student's ``tf.data`` pipelines.

A ``tf.data.Dataset`` cannot cross to the grader, so the probe iterates it here and
reports what it yields as plain data: the type, the element spec (as text and as
shapes/dtypes), and for each pass the batch sizes and the concatenated images and
labels. The checks recognise the examples by their values, so they can tell the order,
the batching and whether images and labels stayed paired.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.probes import ProbeContext, probe
from grader.tf_runtime import tf

#: Most elements read in one pass; a pipeline that repeats forever stops here.
MAX_ELEMENTS = 2000


@probe
def make_datasets(ctx: ProbeContext, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                  y_test: np.ndarray, train_passes: int = 2, **kwargs: Any) -> dict:
    """Call ``make_datasets(x_train, y_train, x_test, y_test, **kwargs)`` and iterate both.

    Returns ``{"returned": "pair" or a type name, "train": <dataset>, "test": <dataset>}``
    where ``<dataset>`` is what ``describe_dataset`` reports (``train_passes`` passes of
    the training set, one of the test set).
    """
    result = ctx.module("preprocessing").make_datasets(x_train, y_train, x_test, y_test, **kwargs)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        size = f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""
        return {"returned": f"{_type_name(result)}{size}"}
    train_ds, test_ds = result
    return {
        "returned": "pair",
        "train": describe_dataset(train_ds, train_passes),
        "test": describe_dataset(test_ds, 1),
    }


def describe_dataset(dataset: Any, passes: int) -> dict:
    """Type, element spec and ``passes`` passes of ``dataset``, as plain data.

    ``"pair"`` says whether elements are ``(inputs, labels)`` pairs of tensors; only
    then are the passes read. Each pass is ``{"batch_sizes": [int or None per element],
    "images": array, "labels": array, "truncated": bool}``; ``None`` marks an element
    without a batch axis (a scalar label).
    """
    info: dict[str, Any] = {"type": _type_name(dataset), "is_dataset": isinstance(dataset, tf.data.Dataset)}
    if not info["is_dataset"]:
        return info
    spec = dataset.element_spec
    info["element_spec"] = str(spec)
    info["pair"] = (isinstance(spec, tuple) and len(spec) == 2
                    and all(isinstance(part, tf.TensorSpec) for part in spec))
    if info["pair"]:
        info["spec"] = [{"shape": part.shape.as_list(), "dtype": part.dtype.name} for part in spec]
        info["passes"] = [_one_pass(dataset) for _ in range(passes)]
    return info


def _one_pass(dataset: Any) -> dict:
    sizes, images, labels = [], [], []
    truncated, seen = False, 0
    for x, y in dataset:
        x, y = np.asarray(x), np.asarray(y)
        if y.ndim == 0:  # not batched: one example per element
            sizes.append(None)
            x, y = x[None], y[None]
        else:
            sizes.append(int(y.shape[0]))
        images.append(x)
        labels.append(y)
        seen += len(y)
        if seen >= MAX_ELEMENTS:
            truncated = True
            break
    return {
        "batch_sizes": sizes,
        "images": np.concatenate(images) if images else np.zeros((0,)),
        "labels": np.concatenate(labels) if labels else np.zeros((0,)),
        "truncated": truncated,
    }


def _type_name(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"
