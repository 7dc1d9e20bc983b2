"""Capturing what student code prints, from Python and from C (``tf.print``) alike."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator


class Printed:
    """What a ``captured_output`` block printed: ``text`` is set when the block ends."""

    text: str = ""


@contextlib.contextmanager
def captured_output(tail_chars: int = 4000) -> Iterator[Printed]:
    """Capture stdout and stderr inside the block, at the Python and the file-descriptor level.

    ``print`` goes through ``sys.stdout``; ``tf.print`` and other C code write to file
    descriptors 1 and 2 directly, so both are redirected. ``Printed.text`` keeps the
    last ``tail_chars`` characters (Python output first, then the C output).
    """
    printed, python_side = Printed(), io.StringIO()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with tempfile.TemporaryFile() as sink:
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            with contextlib.redirect_stdout(python_side), contextlib.redirect_stderr(python_side):
                yield printed
        finally:
            for fd, original in zip((1, 2), saved):
                os.dup2(original, fd)
                os.close(original)
            sink.seek(max(0, os.fstat(sink.fileno()).st_size - tail_chars * 4))
            c_side = sink.read().decode("utf-8", "replace")
            printed.text = (python_side.getvalue() + c_side)[-tail_chars:]
