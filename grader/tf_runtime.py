"""TensorFlow, imported once and quietly, in the grader and in a worker alike.

TensorFlow writes log lines to file descriptor 2 as it loads ("oneDNN custom operations
are on", "Could not find cuda drivers", "failed call to cuInit"), some of them before
its own ``TF_CPP_MIN_LOG_LEVEL`` is read. A student should never see them: not in the
grader's output, not in a check's captured stderr, not in ``course train`` or the
notebook. So:

- ``QUIET_ENV`` holds the variables every process that imports TensorFlow gets; the
  launchers pass ``quiet_environment()`` to the subprocesses they start;
- ``import_tensorflow()`` imports it (and runs the CUDA probe that logs ``cuInit``) with
  fd 2 sent to a scratch file, replayed only if the import fails.

``from grader.tf_runtime import tf`` imports TensorFlow on first use (PEP 562), so
importing this module for ``QUIET_ENV`` alone costs nothing.

Threads: TensorFlow's defaults (intra-op and inter-op pools of one thread per core) unless
``COURSE_TF_THREADS="INTRA,INTER"`` is set (``bench/grading_speed.py`` measures settings
with it); a worker gets the variable from its grading process (``thread_environment``), or
the share of ``COURSE_CORES`` its accuracy bar runs with (``grader.checking.bar_runs``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from typing import Iterator, Mapping

#: Environment of every process that may import TensorFlow: C++ logs off.
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3"}
#: ``"INTRA,INTER"``: TensorFlow's thread pools (unset: its defaults, one thread per core each).
THREADS_VARIABLE = "COURSE_TF_THREADS"
#: Cores one grading may use (unset: every core this process may run on); ``course grade``
#: sets it to its share when it grades several students side by side.
CORES_VARIABLE = "COURSE_CORES"


def machine_cores() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0))


def grading_cores() -> int:
    """The cores this grading may use: ``COURSE_CORES`` when it is a positive integer, else
    the CPUs this process may run on."""
    try:
        value = int(os.environ.get(CORES_VARIABLE, ""))
    except ValueError:
        value = 0
    return value if value > 0 else machine_cores()


def cores_each(side_by_side: int) -> int:
    """Each grading's share of this machine's cores when ``side_by_side`` run at once (at least 1)."""
    return max(1, machine_cores() // max(1, side_by_side))


def thread_environment(value: str | None = None) -> dict[str, str]:
    """``{THREADS_VARIABLE: value}`` for a worker's environment: ``value``, else this process's
    own setting when it has one, else nothing (TensorFlow's defaults)."""
    value = value or os.environ.get(THREADS_VARIABLE, "")
    return {THREADS_VARIABLE: value} if value else {}


def _configure_threads(tf) -> None:
    value = os.environ.get(THREADS_VARIABLE, "")
    if not value:
        return
    try:
        intra, inter = (int(part) for part in value.split(","))
    except ValueError:
        raise ValueError(f"{THREADS_VARIABLE}={value!r}: expected two integers, INTRA,INTER (e.g. 2,1)") from None
    tf.config.threading.set_intra_op_parallelism_threads(intra)
    tf.config.threading.set_inter_op_parallelism_threads(inter)


def quiet_environment(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """``base`` (default ``os.environ``) with ``QUIET_ENV`` and ``extra`` on top."""
    return {**(os.environ if base is None else base), **QUIET_ENV, **extra}


@contextlib.contextmanager
def stderr_silenced() -> Iterator[None]:
    """Send fd 2 (C++ and Python alike) to a scratch file; replay it if the block raises."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            os.write(2, sink.read()[-20000:])
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def import_tensorflow():
    """The ``tensorflow`` module, imported with its start-up logs silenced."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    with stderr_silenced():
        import tensorflow as tf

        _configure_threads(tf)
        tf.config.list_physical_devices()  # the CUDA probe: "failed call to cuInit" is logged here
    return tf


def __getattr__(name: str):
    if name == "tf":
        return import_tensorflow()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["QUIET_ENV", "THREADS_VARIABLE", "import_tensorflow", "quiet_environment", "stderr_silenced",
           "thread_environment", "tf"]
