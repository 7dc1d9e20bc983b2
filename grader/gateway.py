"""The gateway: the one door through which grader checks run student code.

``gateway.run(probe_id, *args, **kwargs)`` runs a registered probe (``grader.probes``)
and returns its result as plain data, or an ``ErrorRecord`` if student code raised.
Two implementations share that contract:

- ``InProcessGateway`` runs probes in this process (a student's quick local loop);
- ``WorkerGateway`` (``grader.worker``) runs them in a locked-down child process, so no
  student code runs where the score is decided (bulk grading, ``--isolate``).

Either way every result is round-tripped through ``grader.plain``.
"""

from __future__ import annotations


import contextlib
import copy
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from grader import plain
from grader.probes import ProbeContext, lookup
from grader.target import Target


class Gateway:
    """Runs probes against one target folder."""

    def run(self, probe_id: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the gateway holds (a worker process)."""


def execute(ctx: ProbeContext, request: str) -> str:
    """Run one encoded request ``{"probe", "args", "kwargs"}``; return the encoded reply.

    Shared by both gateways, so they behave identically. Any exception, ``SystemExit``
    included, becomes an ``ErrorRecord`` reply.
    """
    message = plain.decode(request)
    return run_probe(ctx, message["probe"], message["args"], message["kwargs"])


def run_probe(ctx: ProbeContext, probe_id: str, args: list, kwargs: dict) -> str:
    """Run one probe on plain arguments; return the encoded reply (``{"value": ...}``)."""
    try:
        function = lookup(probe_id)
        value = function(ctx, *args, **kwargs)
        reply = plain.encode({"value": value})
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # noqa: BLE001 - student code may raise anything
        record = plain.error_record(error, ctx.target.student_files())
        reply = plain.encode({"value": record})
    return reply


def encode_request(probe_id: str, args: tuple, kwargs: dict) -> str:
    return plain.encode({"probe": probe_id, "args": list(args), "kwargs": kwargs})


class InProcessGateway(Gateway):
    """Probes run here; results still cross the plain-data boundary."""

    def __init__(self, target: Target):
        self.ctx = ProbeContext(target)

    def run(self, probe_id: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        # Timeouts in-process are pytest-timeout's job (a signal in the main thread).
        # Arguments are the grader's own plain data: copied, not encoded (MNIST is 55 MB).
        reply = run_probe(self.ctx, probe_id, copy.deepcopy(list(args)), copy.deepcopy(kwargs))
        return plain.decode(reply)["value"]


def open_gateway(target: Target, isolate: bool, **worker_options: Any) -> Gateway:
    """An in-process gateway, or a sandboxed worker when ``isolate`` is true."""
    if not isolate:
        return InProcessGateway(target)
    from grader.worker import WorkerGateway

    return WorkerGateway(target, **worker_options)




@contextlib.contextmanager
def staged_worker(target: Target, modules: tuple[str, ...], **worker_options: Any) -> Iterator[Gateway]:
    """A fresh worker whose submission holds only ``modules`` of ``target`` (copies).

    What an accuracy bar trains through under ``--isolate``: the run can read nothing of
    the submission but the modules its cache key covers (``grader.train_cache``).
    """
    from grader.worker import WorkerGateway

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
def shared(gateway: Gateway) -> Iterator[Gateway]:
    """``gateway`` itself, left open: in-process bars train through the student's gateway."""
    yield gateway
