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
from collections.abc import Iterator
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
def staged_worker(target: "Target", modules: tuple[str, ...], **worker_options: Any) -> Iterator["Gateway"]:
    """A fresh worker whose submission holds only ``modules`` of ``target`` (copies).

    What an accuracy bar trains through under ``--isolate``: the run can read nothing of
    the submission but the modules its cache key covers (``grader.checking.train_cache``).
    """
    import shutil
    import tempfile
    from pathlib import Path

    from grader.isolation.worker_handle import WorkerGateway
    from grader.target import Target

    with tempfile.TemporaryDirectory(prefix="course-bar-") as stage:
        for name in modules:
            source = target.file_of(name)
            if source.is_file() and not source.is_symlink():
                shutil.copyfile(source, Path(stage) / source.name)
        gateway = WorkerGateway(Target(Path(stage)), **worker_options)
        try:
            yield gateway
        finally:
            gateway.close()


@contextlib.contextmanager
def shared(gateway: "Gateway") -> Iterator["Gateway"]:
    """``gateway`` itself, left open: in-process bars train through the student's gateway."""
    yield gateway
