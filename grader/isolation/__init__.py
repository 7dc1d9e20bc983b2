"""The only road to student code: checks call probes through a ``Gateway``.

- ``protocol``       ``Gateway``, the request encoding and ``execute`` (shared by both sides)
- ``in_process``     ``InProcessGateway``: probes in the grading process (fast, not isolated)
- ``frames``         the length-framed pipe codec between the grading process and a worker
- ``worker_handle``  the parent's side: ``WorkerProcess`` and ``WorkerGateway``
- ``worker_main``    the child's entry point (``python -m grader.isolation.worker_main``): lock-down first
- ``zygote``         the child after lock-down: one forked process per exercise scope
- ``sandbox``        the lock-down a worker applies to itself (namespaces, jail, limits)
- ``cgroup``         the per-worker cgroup (memory, processes)

Open a gateway with ``open_gateway`` (or ``staged_worker`` for a bar's fresh worker).
This file imports nothing at its top: the worker's entry point imports its lock-down
modules through this package before NumPy may load.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.isolation.protocol import Gateway
    from grader.target import Target


def open_gateway(target: "Target", isolate: bool, **worker_options: Any) -> "Gateway":
    """An in-process gateway, or a sandboxed worker when ``isolate`` is true."""
    if not isolate:
        from grader.isolation.in_process import InProcessGateway

        return InProcessGateway(target)
    from grader.isolation.worker_handle import WorkerGateway

    return WorkerGateway(target, **worker_options)


@contextlib.contextmanager
def staged_worker(files: Mapping[str, bytes], **worker_options: Any) -> Iterator["Gateway"]:
    """A fresh worker whose submission holds only ``files`` (file name -> bytes).

    What an accuracy bar trains through under ``--isolate``: the bytes are those its
    cache key digests (``grader.checking.normalized_source.staged_files``: the canonical
    copy of each module the bar runs), so the run can read nothing the key does not cover.
    """
    import tempfile
    from pathlib import Path

    from grader.isolation.worker_handle import WorkerGateway
    from grader.target import Target

    with tempfile.TemporaryDirectory(prefix="course-bar-") as stage:
        for name, data in files.items():
            if Path(name).name != name:
                raise ValueError(f"a staged file name must be a plain name, not {name!r}")
            (Path(stage) / name).write_bytes(data)
        gateway = WorkerGateway(Target(Path(stage)), **worker_options)
        try:
            yield gateway
        finally:
            gateway.close()


@contextlib.contextmanager
def shared(gateway: "Gateway") -> Iterator["Gateway"]:
    """``gateway`` itself, left open: in-process bars train through the student's gateway."""
    yield gateway
