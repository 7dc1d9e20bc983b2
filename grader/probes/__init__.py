"""Probes: the only grader code that calls student code.

A probe is a function ``probe(ctx, *args, **kwargs)`` registered with ``@probe``. It gets
plain data in, calls the student's modules through ``ctx.module(name)``, and returns
plain data (see ``grader.plain``). Probes are addressed by id (``"<file>.<function>"``,
e.g. ``"common.call"``) so a worker process can run them from a request. ``ctx.state``
is a dict kept between the probes of one gateway, for multi-step work like training
to an accuracy bar.

Two facts about each call are decided here, by the grading process, never by a worker
(whose copy of this module student code may have rewritten):

- its **scope** (``scope_of``): the one exercise module whose code the call runs, or
  ``"bar"``. A worker runs each scope in a process of its own, forked from a parent that
  never ran student code, so one exercise's code cannot touch another's replies;
- its **reply budget** (``reply_limit``): the largest reply, in bytes and in JSON
  elements, the grader will decode for it. Anything larger is a protocol fault.

The probe files (ids ``<file>.<function>``):

- ``common``    call an exercise function on plain arguments (``common.call``)
- ``datasets``  the preprocessing pipeline's ``tf.data`` datasets
- ``models``    build and run the student's ``MNISTModel`` and Keras model
- ``training``  one ``Trainer`` step on the grader's data, its loss and metrics
- ``bars``      train for an accuracy bar from the grader's initial weights; send the weights
- ``capture``   the student's printed output during a call (not a probe file)
- ``step_loop`` how the bars run a train step: many batches per compiled call (not a probe file)
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from grader.target import Target

_REGISTRY: dict[str, Callable[..., Any]] = {}
#: Probe files, imported on first lookup so a worker loads only what it runs.
PROBE_FILES = ("common", "datasets", "models", "training", "bars")


@dataclass(frozen=True)
class ReplyLimit:
    """The largest reply the grader decodes for one probe (see ``grader.plain.decode``)."""

    max_bytes: int
    max_elements: int = 100_000


#: Replies of checks on small arrays (a relu, a 9x8 convolution, a model description).
DEFAULT_LIMIT = ReplyLimit(max_bytes=8 << 20)
#: Per probe id; the bars' ``advance`` sends the trained weights (2.77 M float32 = 15 MB as text).
REPLY_LIMITS = {
    "bars.advance": ReplyLimit(max_bytes=24 << 20, max_elements=1_000),
    "bars.cnn_start": ReplyLimit(max_bytes=64 << 10, max_elements=1_000),
    "bars.keras_start": ReplyLimit(max_bytes=64 << 10, max_elements=1_000),
    "models.mnist_model": ReplyLimit(max_bytes=48 << 20),
    "models.keras_model": ReplyLimit(max_bytes=16 << 20),
    "training.fit": ReplyLimit(max_bytes=1 << 20),
}
#: Which exercise module a probe file's calls run (``common.call`` names its module).
_FILE_SCOPES = {"datasets": "preprocessing", "training": "training", "bars": "bar"}


def reply_limit(probe_id: str) -> ReplyLimit:
    return REPLY_LIMITS.get(probe_id, DEFAULT_LIMIT)


def scope_of(probe_id: str, args: tuple | list) -> str:
    """The exercise module a call of ``probe_id`` with ``args`` runs, or ``"bar"``."""
    from grader.paths import EXERCISE_MODULES

    file, _, function = probe_id.partition(".")
    if probe_id == "common.call":
        module = args[0] if args else None
        if module not in EXERCISE_MODULES:
            raise ValueError(f"common.call of {module!r}, which is not an exercise module")
        return module
    if file == "models":
        return "keras_model" if function == "keras_model" else "model"
    if file in _FILE_SCOPES:
        return _FILE_SCOPES[file]
    raise ValueError(f"unknown probe {probe_id!r}")


def probe(function: Callable[..., Any]) -> Callable[..., Any]:
    """Register ``function`` as a probe under ``"<file>.<name>"``."""
    file = function.__module__.rsplit(".", 1)[-1]
    _REGISTRY[f"{file}.{function.__name__}"] = function
    return function


def lookup(probe_id: str) -> Callable[..., Any]:
    """The registered probe ``probe_id``; ``KeyError`` for anything else."""
    file = probe_id.split(".", 1)[0]
    if probe_id not in _REGISTRY and file in PROBE_FILES:
        importlib.import_module(f"grader.probes.{file}")
    return _REGISTRY[probe_id]


class ProbeContext:
    """What a probe may use: the student's modules and a state dict."""

    def __init__(self, target: Target):
        self.target = target
        self.state: dict[str, Any] = {}

    def module(self, name: str):
        return self.target.module(name)
