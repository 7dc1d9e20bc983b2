"""Probes that build the student's models and describe them as plain data.

``mnist_model`` builds ``model.MNISTModel()``, calls it twice on a batch the grader
sends, and reports its layers (class, settings, weights), parameter count and outputs.
``keras_model`` builds ``keras_model.build_keras_model()`` and reports the same about
its layers plus its input shape, compile settings and inference-mode outputs.

Every step that runs student code is attempted separately: a failure becomes an
``ErrorRecord`` in its field (Keras's "Exception encountered when calling ..." wrapper
removed), so a model whose ``__init__`` works can be checked even if its ``call`` does
not. Introspection of whatever came back never raises: a missing attribute is ``None``.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np

from grader.plain import ErrorRecord, Opaque, error_record
from grader.probes import ProbeContext, probe

#: The attributes of ``MNISTModel`` the lesson names, in the order of the forward pass.
MNIST_LAYERS = ("conv1", "flatten", "dense1", "dense2")
#: Layer settings reported from ``layer.get_config()`` when the layer has them.
CONFIG_KEYS = ("filters", "kernel_size", "strides", "padding", "dilation_rate",
               "units", "use_bias", "rate")

_KERAS_WRAPPED = re.compile(r"\x1b\[1m(.*?)(?:\x1b\[0m|$)", re.S)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _attempt(ctx: ProbeContext, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, or an ``ErrorRecord`` of the exception it raised."""
    try:
        return function(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - student code may raise anything
        files = ctx.target.student_files()
        record = error_record(error, files)
        wrapped = _KERAS_WRAPPED.search(record.message)
        message = _ANSI.sub("", wrapped.group(1) if wrapped else record.message).strip()
        # Without a frame of the student's own files, the traceback shows only our code.
        trace = record.traceback if any(file in record.traceback for file in files) else ""
        return ErrorRecord(record.type, message, trace, record.bases)


def _safe(function: Callable[[], Any], default: Any = None) -> Any:
    """Introspection that must not fail the probe: ``default`` on any exception."""
    try:
        return function()
    except Exception:  # noqa: BLE001
        return default


def _type_name(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def _array(value: Any) -> Any:
    """A model's output as a NumPy array (an error record or an ``Opaque`` otherwise)."""
    if isinstance(value, ErrorRecord):
        return value
    array = None
    if isinstance(value, np.ndarray):
        array = value
    elif hasattr(value, "numpy") and hasattr(value, "shape"):
        array = _safe(lambda: np.asarray(value.numpy()))
    if array is None or array.dtype.kind not in "biuf":
        return Opaque(_type_name(value))
    return array


def _shape(shape: Any) -> Any:
    """``(None, 28, 28)`` -> ``[None, 28, 28]``; a list of shapes stays a list."""
    if isinstance(shape, (list, tuple)) and all(dim is None or isinstance(dim, int) for dim in shape):
        return [None if dim is None else int(dim) for dim in shape]
    if isinstance(shape, (list, tuple)):
        return [_shape(item) for item in shape]
    return None


def _config_value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_config_value(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _activation_name(activation: Any) -> str | None:
    """``relu``, ``softmax``, ``linear``...: a function's name or a layer's class name."""
    if activation is None:
        return None
    name = getattr(activation, "__name__", None) or type(activation).__name__
    return str(name)


def _variable_path(variable: Any) -> str:
    return str(getattr(variable, "path", None) or getattr(variable, "name", "?"))


def _weights(owner: Any) -> list[dict]:
    """``[{"path", "value"}]`` of ``owner.weights`` in order (empty if it has none)."""
    variables = _safe(lambda: list(owner.weights), [])
    values = _safe(owner.get_weights, None) if hasattr(owner, "get_weights") else None
    if values is None or len(values) != len(variables):
        values = [_safe(lambda v=v: np.asarray(v)) for v in variables]
    return [{"path": _variable_path(v), "value": value} for v, value in zip(variables, values)]


def _is_keras(kind: type) -> bool:
    """A class of Keras itself (not a student's subclass)."""
    module = kind.__module__ or ""
    return module == "keras" or module.startswith("keras.")


def describe_layer(layer: Any, with_weights: bool = True) -> dict | None:
    """Class, Keras classes it is an instance of (``bases``), settings, activation name,
    parameter count (``None`` before it is built) and, optionally, weights of a layer."""
    if layer is None:
        return None
    config = _safe(layer.get_config, {}) if hasattr(layer, "get_config") else {}
    config = config if isinstance(config, dict) else {}
    described = {
        "class": type(layer).__name__,
        "bases": [kind.__name__ for kind in type(layer).__mro__ if _is_keras(kind)],
        "config": {key: _config_value(config[key]) for key in CONFIG_KEYS if key in config},
        "activation": _activation_name(_safe(lambda: getattr(layer, "activation", None))),
        "params": _safe(layer.count_params) if hasattr(layer, "count_params") else None,
    }
    if with_weights:
        described["weights"] = _weights(layer)
    return described


@probe
def mnist_model(ctx: ProbeContext, images: np.ndarray) -> Any:
    """Build ``MNISTModel()``, call it twice on ``images`` (N, 28, 28, 1) and describe it.

    Returns the constructor's ``ErrorRecord`` if it raised, else a dict: ``is_keras_model``,
    ``layers`` (``{"conv1": describe_layer(...) or None, ...}`` after the first call),
    ``params``, ``weight_paths`` / ``weight_shapes`` (``model.weights`` after the first
    call), ``output`` (array or ``ErrorRecord``), and after a second call
    ``second_output`` and ``second_weight_paths``.
    """
    import keras

    model = _attempt(ctx, lambda: ctx.module("model").MNISTModel())
    if isinstance(model, ErrorRecord):
        return model
    output = _array(_attempt(ctx, model, images))
    weights = _safe(lambda: list(model.weights), [])
    described = {
        "type": _type_name(model),
        "is_keras_model": isinstance(model, keras.Model),
        "layers": {name: describe_layer(_safe(lambda n=name: getattr(model, n, None)))
                   for name in MNIST_LAYERS},
        "params": _safe(model.count_params) if hasattr(model, "count_params") else None,
        "weight_paths": [_variable_path(v) for v in weights],
        "weight_shapes": [_shape(_safe(lambda v=v: tuple(v.shape))) for v in weights],
        "output": output,
        "second_output": None,
        "second_weight_paths": None,
    }
    if isinstance(output, np.ndarray):
        described["second_output"] = _array(_attempt(ctx, model, images))
        described["second_weight_paths"] = [_variable_path(v) for v in _safe(lambda: list(model.weights), [])]
    return described


def _serialized_name(item: Any) -> list[str]:
    """Names in one entry of ``get_compile_config()``: a string, or a serialized object."""
    if isinstance(item, str):
        return [item]
    if isinstance(item, dict) and "class_name" in item:
        config = item.get("config")
        names = [str(item["class_name"])]
        if isinstance(config, dict) and isinstance(config.get("name"), str):
            names.append(config["name"])
        elif isinstance(config, str):
            names.append(config)
        return names
    if isinstance(item, dict):
        return [name for value in item.values() for name in _serialized_name(value)]
    if isinstance(item, (list, tuple)):
        return [name for value in item for name in _serialized_name(value)]
    return [] if item is None else [str(item)]


def _describe_loss(loss: Any) -> dict | None:
    """``{"kind", "names", "from_logits"}`` of ``model.loss`` (string, function or Loss)."""
    if loss is None:
        return None
    if isinstance(loss, str):
        return {"kind": "string", "names": [loss], "from_logits": None}
    config = _safe(loss.get_config, {}) if hasattr(loss, "get_config") else {}
    config = config if isinstance(config, dict) else {}
    names = [type(loss).__name__, getattr(loss, "__name__", None), config.get("name")]
    from_logits = config.get("from_logits")
    return {
        "kind": "function" if callable(loss) and not hasattr(loss, "get_config") else "object",
        "names": [str(name) for name in names if isinstance(name, str)],
        "from_logits": from_logits if isinstance(from_logits, bool) else None,
    }


def _fit_to(images: np.ndarray, input_shape: Any) -> np.ndarray:
    """``images`` reshaped to a model's declared input, e.g. (N, 784), when the sizes agree.

    A wrong input shape is one check's business; the output checks still get to run.
    """
    if not (isinstance(input_shape, list) and input_shape and all(isinstance(d, int) for d in input_shape[1:])):
        return images
    example = tuple(input_shape[1:])
    if example != images.shape[1:] and int(np.prod(example)) == int(np.prod(images.shape[1:])):
        return images.reshape((len(images), *example))
    return images


@probe
def keras_model(ctx: ProbeContext, images: np.ndarray) -> Any:
    """Build ``build_keras_model()`` and describe it; run it on ``images`` (N, 28, 28).

    Returns the builder's ``ErrorRecord`` if it raised, else a dict: ``type``,
    ``is_model``, ``is_sequential``, ``input_shape`` (list or None), ``layers``
    (``model.layers``, each ``describe_layer`` without weights), ``params``,
    ``compiled``, ``optimizer`` (class name), ``loss`` (``_describe_loss``), ``metrics``
    (names from the compile config), ``output`` (``model(images, training=False)``)
    and ``predictions`` (two ``model.predict(images)`` results); ``images`` are first
    reshaped to the model's declared input if that has 28 * 28 values but another shape.
    """
    import keras

    model = _attempt(ctx, lambda: ctx.module("keras_model").build_keras_model())
    if isinstance(model, ErrorRecord):
        return model
    is_model = isinstance(model, keras.Model)
    described = {
        "type": _type_name(model),
        "is_model": is_model,
        "is_sequential": isinstance(model, keras.Sequential),
        "input_shape": None, "layers": [], "params": None, "compiled": False,
        "optimizer": None, "loss": None, "metrics": [], "output": None, "predictions": [],
    }
    if not is_model:
        return described
    input_shape = _safe(lambda: _shape(model.input_shape))
    images = _fit_to(images, input_shape)
    optimizer = _safe(lambda: getattr(model, "optimizer", None))
    compile_config = _safe(model.get_compile_config, {}) or {}
    described.update(
        input_shape=input_shape,
        layers=[describe_layer(layer, with_weights=False) for layer in _safe(lambda: list(model.layers), [])],
        params=_safe(model.count_params),
        compiled=bool(_safe(lambda: getattr(model, "compiled", False))) or optimizer is not None,
        optimizer=None if optimizer is None else type(optimizer).__name__,
        loss=_describe_loss(_safe(lambda: getattr(model, "loss", None))),
        metrics=_serialized_name(compile_config.get("metrics")) if isinstance(compile_config, dict) else [],
        output=_array(_attempt(ctx, model, images, training=False)),
        predictions=[_array(_attempt(ctx, model.predict, images, verbose=0)) for _ in range(2)],
    )
    return described
