"""Plain data: the only things that cross from student code to the grader.

Probe results are encoded to JSON text, with NumPy arrays as base64 ``.npy`` bytes
read back with ``allow_pickle=False``. Nothing is ever unpickled, so a worker can send
numbers, strings, arrays, lists and dicts, and nothing else. A value of any other type
(a student's object with a lying ``__eq__``, say) crosses as an ``Opaque`` record
naming its type, which no check accepts as an answer.

Both modes of the gateway (in-process and worker) round-trip every result through
``encode``/``decode``, so a check sees exactly the same data in either.
"""

from __future__ import annotations

import base64
import io
import json
import math
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Largest encoded message accepted from a worker (bytes of JSON text).
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
#: Longest error message or traceback kept from student code (characters).
MAX_TEXT_CHARS = 4000


@dataclass(frozen=True)
class ErrorRecord:
    """An exception raised by student code, as plain data."""

    type: str
    message: str
    traceback: str = ""
    #: Names of the exception's base classes, nearest first (``UFuncTypeError`` carries
    #: ``("TypeError", "Exception", ...)``), so a check expecting a ``TypeError`` accepts
    #: a subclass as Python's ``except TypeError`` would.
    bases: tuple[str, ...] = ()

    @property
    def not_implemented(self) -> bool:
        return self.is_a("NotImplementedError")

    def is_a(self, *kinds: str) -> bool:
        """True if the exception is one of ``kinds`` or a subclass of one (by class name)."""
        return self.type in kinds or any(base in kinds for base in self.bases)

    def one_line(self) -> str:
        return f"{self.type}: {self.message}" if self.message else self.type


@dataclass(frozen=True)
class Opaque:
    """A value of a type that is not plain data; only its type name crosses."""

    type_name: str


def error_record(error: BaseException, student_files: tuple[str, ...] = ()) -> ErrorRecord:
    """Describe ``error`` as plain data, keeping only the student's own frames."""
    frames = traceback.extract_tb(error.__traceback__)
    if student_files:
        frames = [frame for frame in frames if frame.filename in student_files] or frames[-1:]
    text = "".join(traceback.format_list(frames))
    return ErrorRecord(
        type=type(error).__name__,
        message=_clip(str(error)),
        traceback=_clip(text, keep_end=True),
        bases=base_names(type(error)),
    )


#: Most base-class names an error record carries (a real hierarchy has a handful).
MAX_BASES = 16


def base_names(kind: type) -> tuple[str, ...]:
    """The names of ``kind``'s base classes in method resolution order, ``object`` left out."""
    return tuple(cls.__name__ for cls in kind.__mro__[1:] if cls is not object)[:MAX_BASES]


def _clip(text: str, keep_end: bool = False) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return ("..." + text[-MAX_TEXT_CHARS:]) if keep_end else (text[:MAX_TEXT_CHARS] + "...")


def to_plain(value: Any) -> Any:
    """Turn a probe's result into plain Python/NumPy data (arrays copied)."""
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        return value
    if isinstance(value, np.generic) and type(value).__module__ == "numpy":
        return np.asarray(value)
    if type(value) is np.ndarray:
        if value.dtype.kind not in "biufc":
            return Opaque(f"ndarray of dtype {value.dtype}")
        return value.copy()
    if type(value) in (list, tuple):
        return [to_plain(item) for item in value]
    if type(value) is dict:
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, (ErrorRecord, Opaque)):
        return value
    return Opaque(f"{type(value).__module__}.{type(value).__qualname__}")


def encode(value: Any) -> str:
    """Plain value -> JSON text."""
    return json.dumps(_tag(to_plain(value)), allow_nan=True, separators=(",", ":"))


def decode(text: str | bytes, max_bytes: int = MAX_MESSAGE_BYTES, max_elements: int | None = None) -> Any:
    """JSON text -> plain value. Rejects anything that is not our format, or too big.

    The bounds are checked before anything is built: ``max_bytes`` on the text, and
    ``max_elements`` on an upper bound of the values it holds (every ``,``, ``:``, ``[``
    and ``{`` counted, a C-speed scan; base64 array text has none of them). So decoding
    costs at most about ``max_bytes`` plus ~100 bytes per element: a 90 MB frame of
    ``[[],[],...]`` is refused unread instead of growing into gigabytes of lists. Nesting
    deeper than Python's recursion limit is refused too (``ValueError`` in every case).
    """
    if len(text) > max_bytes:
        raise ValueError(f"message of {len(text)} bytes is larger than {max_bytes}")
    data = text.encode() if isinstance(text, str) else text
    if max_elements is not None:
        count = sum(data.count(mark) for mark in (b",", b":", b"[", b"{"))
        if count > max_elements:
            raise ValueError(f"message holds up to {count} values, more than {max_elements}")
    try:
        return _untag(json.loads(data))
    except RecursionError:
        raise ValueError("message is nested too deeply") from None


def _tag(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return {"__ndarray__": base64.b64encode(buffer.getvalue()).decode("ascii")}
    if isinstance(value, ErrorRecord):
        return {"__error__": [value.type, value.message, value.traceback, list(value.bases)]}
    if isinstance(value, Opaque):
        return {"__opaque__": value.type_name}
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if isinstance(value, list):
        return [_tag(item) for item in value]
    if isinstance(value, dict):
        return {key: _tag(item) for key, item in value.items()}
    return value


def load_npy(raw: bytes) -> np.ndarray:
    """An ``.npy`` file's array, checked before it is built: a plain numeric dtype and a
    header whose shape matches the bytes that follow (``np.load`` would allocate what
    the header claims first). Never unpickles."""
    stream = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(stream)
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = reader(stream)
    except (ValueError, TypeError, SyntaxError) as error:
        raise ValueError(f"not an .npy array ({error})") from None
    if dtype.hasobject or dtype.kind not in "biufc" or dtype.fields is not None:
        raise ValueError(f"array of dtype {dtype} is not plain data")
    count = math.prod(shape)
    offset = stream.tell()
    if count * dtype.itemsize != len(raw) - offset:
        raise ValueError(f"array header says {shape} of {dtype}, but {len(raw) - offset} bytes follow")
    array = np.frombuffer(raw, dtype=dtype, count=count, offset=offset)
    return array.reshape(shape, order="F" if fortran else "C").copy()


def _untag(value: Any) -> Any:
    if isinstance(value, list):
        return [_untag(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, item), = value.items()
        if key == "__ndarray__":
            return load_npy(base64.b64decode(str(item), validate=True))
        if key == "__error__":
            if not (isinstance(item, list) and len(item) == 4 and isinstance(item[3], list)):
                raise ValueError("malformed error record")
            kind, message, trace, bases = item
            return ErrorRecord(str(kind), str(message), str(trace),
                               tuple(str(base)[:200] for base in bases[:MAX_BASES]))
        if key == "__opaque__":
            return Opaque(str(item))
        if key == "__float__":
            return float(item)
    return {key: _untag(item) for key, item in value.items()}
