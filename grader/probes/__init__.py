"""Probes: the only grader code that calls student code.

A probe is a function ``probe(ctx, *args, **kwargs)`` registered with ``@probe``. It gets
plain data in, calls the student's modules through ``ctx.module(name)``, and returns
plain data (see ``grader.plain``). Probes are addressed by id (``"<file>.<function>"``,
e.g. ``"common.call"``) so a worker process can run them from a request. ``ctx.state``
is a dict kept between the probes of one gateway, for multi-step work like training
to an accuracy bar.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from grader.target import Target

_REGISTRY: dict[str, Callable[..., Any]] = {}
#: Probe files, imported on first lookup so a worker loads only what it runs.
PROBE_FILES = ("common", "datasets", "models", "training", "bars")


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
