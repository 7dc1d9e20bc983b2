"""The gateway protocol: the one door through which grader checks run student code.

``gateway.call(probe_id, *args, **kwargs)`` runs a registered probe (``grader.probes``)
and returns its result as plain data, or an ``ErrorRecord`` if student code raised.
Two implementations share that contract:

- ``InProcessGateway`` (``grader.isolation.in_process``) runs probes in this process (a
  student's quick local loop);
- ``WorkerGateway`` (``grader.isolation.worker_handle``) runs them in a locked-down child process, so no
  student code runs where the score is decided (bulk grading, ``--isolate``).

Either way every result is round-tripped through ``grader.plain``; ``execute`` is the
request handler both share (in a worker, ``grader.isolation.zygote`` calls it).
"""

from __future__ import annotations

from typing import Any

from grader import plain
from grader.probes import ProbeContext, lookup


class CallInterrupted(BaseException):
    """Raised in the grading process to stop a call (a check's time limit); it passes
    through ``run_probe`` instead of becoming the student's error."""


class Gateway:
    """Runs probes against one target folder."""

    def call(self, probe_id: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """The probe's plain result, or an ``ErrorRecord`` if student code raised."""
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
    except (KeyboardInterrupt, CallInterrupted):
        raise
    except BaseException as error:  # noqa: BLE001 - student code may raise anything
        record = plain.error_record(error, ctx.target.student_files())
        reply = plain.encode({"value": record})
    return reply


def encode_request(probe_id: str, args: tuple, kwargs: dict) -> str:
    """The JSON request ``{"probe", "args", "kwargs"}`` that ``execute`` reads."""
    return plain.encode({"probe": probe_id, "args": list(args), "kwargs": kwargs})
