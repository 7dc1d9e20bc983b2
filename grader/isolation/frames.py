"""The pipe codec between the grading process and a worker: length-framed messages.

A frame is ``HEADER`` (payload length: 8 bytes big-endian, flags: 1 byte) then the
payload. The reader checks the length against its limit before reading a byte of the
payload, so an oversized reply costs nothing; with a deadline every read and write
waits on ``select`` and raises ``WorkerFault("WorkerTimeout", ...)`` when it passes.
"""

from __future__ import annotations

import os
import select
import struct
import time

HEADER = struct.Struct(">QB")  # payload length, flags
RESTART = 1  # reply flag: the worker has stray processes, replace it
TAMPERED = 2  # reply flag: student code rebound builtins/numpy/grader names (restored)
TICK = 0.2  # seconds between two calls of a reader's ``watch``


class WorkerFault(Exception):
    """The worker misbehaved; ``kind`` becomes the ``ErrorRecord`` type."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message


def write_frame(fd: int, payload: bytes, flags: int = 0, deadline: float | None = None) -> None:
    """Write one frame; with a ``deadline`` the fd must be non-blocking."""
    data = memoryview(HEADER.pack(len(payload), flags) + payload)
    while data:
        if deadline is not None:
            wait_ready(fd, deadline, writable=True)
        try:
            data = data[os.write(fd, data):]
        except BlockingIOError:
            continue


def read_frame(fd: int, deadline: float | None = None, limit: int | None = None,
               watch=None) -> tuple[bytes, int] | None:
    """One frame ``(payload, flags)``; ``None`` at end of file before a frame starts."""
    header = read_exactly(fd, HEADER.size, deadline, watch, allow_eof=True)
    if header is None:
        return None
    length, flags = HEADER.unpack(header)
    if limit is not None and length > limit:
        raise WorkerFault("ReplyTooLarge", f"the reply would be {length} bytes (limit {limit}); "
                                           "return a smaller result")
    return read_exactly(fd, length, deadline, watch), flags


def read_exactly(fd: int, size: int, deadline: float | None, watch=None,
                 allow_eof: bool = False) -> bytes | None:
    """Exactly ``size`` bytes; ``None`` at end of file first if ``allow_eof``."""
    chunks, left = [], size
    while left:
        if deadline is not None:
            wait_ready(fd, deadline, watch=watch)
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            if allow_eof and left == size:
                return None
            raise EOFError("the worker closed its reply pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def wait_ready(fd: int, deadline: float, writable: bool = False, watch=None) -> None:
    """Block until ``fd`` is ready, calling ``watch()`` every tick; fault at the deadline."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise WorkerFault("WorkerTimeout", "")
        readers, writers = ([], [fd]) if writable else ([fd], [])
        if any(select.select(readers, writers, [], min(left, TICK))):
            return
        if watch:
            watch()


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to a blocking ``fd``."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
