"""A module as its tokens: what an accuracy bar's cache key covers and its worker runs.

Two ``model.py`` files that differ only in comments, blank lines and spacing are the same
program. ``normalized_tokens(source)`` is that program's token stream, from Python's
``tokenize``: COMMENT, NL (blank and continued lines) and ENCODING tokens dropped, every
position dropped, INDENT/DEDENT/NEWLINE kept as structure markers without their text
(so tabs or spaces, any width, give one stream for one block structure), and every NAME,
OP, NUMBER and STRING kept verbatim (strings and docstrings included). ``render(stream)``
writes a stream back as source, one logical line per line, four spaces per level and a
fixed spacing rule: a function of the stream alone, which tokenizes back to the stream it
came from (a test says so), so equal renderings mean equal streams.

**Why two modules with one normalized form behave the same.** Not because of what they
contain: a module can read its own source (``open(__file__)``, ``inspect``,
``linecache``, a traceback's line numbers, ``f_lineno``) and act on its comments or
layout, and no list of forbidden names rules that out. It holds by construction: a bar
keyed by the normalized form does not run the student's bytes but the *canonical copy*
(``canonical_copy``: the rendering, UTF-8), which is what ``staged_files`` hands the bar's
worker and what the training cache's key digests. Two submissions with the same stream
give their workers byte-identical files under the same name, next to nothing else of the
submission (``grader.isolation.staged_worker``); with the same settings and seeds the two
runs read the same bytes and get the same inputs, so each is as good a sample of the
other as a second run of either. (The grader's own randomness, the initial weights it
draws afresh for every run, is the submission's to neither know nor choose: that was
already so for two identical files.) Poisoning a classmate's entry through formatting is
therefore impossible: a trick that reads the layout sees the grader's layout, the same
for everyone with that key.

The copy is taken only when it is provably the same program: the student's file and its
rendering must both compile, to code objects equal in everything but line numbers and
positions (``code_key``: bytecode, constants, names, nested code, recursively). Where
Python's compiler lets line numbers shape the bytecode (3.11 lays out the loop of a
generator expression spread over several lines differently), the copy is refused and the
raw bytes are kept: a missed share, never a different program. A file
that does not tokenize or compile (a syntax error, a bad encoding, a null byte) keeps its
raw bytes and its raw-bytes key: it fails the same way every time. Encoding declarations
are honoured when decoding (``tokenize.detect_encoding``) and the copy is UTF-8 without
the declaration (a comment), so its strings hold the same characters.

**Line numbers.** A traceback from the copy cites the copy's lines. ``cite_own_lines``
turns each frame of a copied module back into the student's file and line (the first
line of that logical line in their file; ``Canonical.lines`` maps copy line -> own line),
leaving the code line shown as the grader ran it (the student's tokens, respaced). It is
applied to a bar's error text after the cache, per student, so an entry shared by two
layouts shows each student their own line numbers.

In-process (``pytest grader/`` on a student's own machine, without ``--isolate``) the
bars run the student's own files and only the key is normalized: the cache is the
student's own, and a program that acts on its own layout can fool only its author.
``COURSE_RAW_BAR_KEY=1`` turns normalization off (raw bytes staged and keyed, as before),
for ``bench/formatting_class.py`` to compare.
"""

from __future__ import annotations

import dis
import io
import keyword
import os
import re
import sys
import token
import tokenize
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType

#: Environment variable: "1" stages and keys a bar's modules by their raw bytes.
RAW_KEY_ENV = "COURSE_RAW_BAR_KEY"

Stream = tuple[tuple[int, str], ...]  # ((token type, text), ...)

_DROPPED = {token.COMMENT, token.NL, token.ENCODING, token.ENDMARKER}
_STRUCTURE = {token.INDENT, token.DEDENT, token.NEWLINE}  # kept, their text dropped
_FSTRING_START = getattr(token, "FSTRING_START", None)  # Python 3.12+: f-strings come in pieces
_FSTRING_END = getattr(token, "FSTRING_END", None)
_OPENING, _CLOSING = {"(", "[", "{"}, {")", "]", "}"}
_NO_SPACE_BEFORE = {")", "]", "}", ",", ":", ";"}
_UNARY = {"-", "+", "~", "*", "**"}
_DOTS = {".", "..."}
_WORDS = set(keyword.kwlist) - {"True", "False", "None"}
INDENT_TEXT = "    "
#: Larger files keep their raw bytes (a real module is under 20 KB; tokenize reads about 1 MB/s).
MAX_NORMALIZED_BYTES = 1_000_000


class NotTokenizable(ValueError):
    """The source does not tokenize (bad encoding, unterminated string, bad dedent)."""


def _raw_tokens(source: bytes) -> list[tokenize.TokenInfo]:
    try:
        return list(tokenize.tokenize(io.BytesIO(source).readline))
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, LookupError) as error:
        raise NotTokenizable(str(error)) from error


def _joined_fstrings(source: bytes, tokens: list[tokenize.TokenInfo]) -> list[tokenize.TokenInfo]:
    """Python 3.12+ splits an f-string into pieces; put each back as one verbatim STRING
    (its text sliced from the source), as Python 3.10 and 3.11 tokenize it."""
    if _FSTRING_START is None or not any(tok.type == _FSTRING_START for tok in tokens):
        return tokens
    encoding = tokens[0].string if tokens[0].type == token.ENCODING else "utf-8"
    lines = [line.decode(encoding) for line in io.BytesIO(source).readlines()]  # tokenize's rows
    joined, depth, start = [], 0, (0, 0)
    for tok in tokens:
        if tok.type == _FSTRING_START:
            start = tok.start if depth == 0 else start
            depth += 1
        elif depth and tok.type == _FSTRING_END:
            depth -= 1
            if depth == 0:
                (row, col), (end_row, end_col) = start, tok.end
                span = "".join(lines[row - 1:end_row])
                text = span[col:len(span) - len(lines[end_row - 1]) + end_col]
                joined.append(tokenize.TokenInfo(token.STRING, text, start, tok.end, tok.line))
        elif not depth:
            joined.append(tok)
    return joined


def _kept(source: bytes) -> list[tokenize.TokenInfo]:
    return [tok for tok in _joined_fstrings(source, _raw_tokens(source)) if tok.type not in _DROPPED]


def normalized_tokens(source: bytes) -> Stream:
    """``source``'s token stream without comments, blank lines and layout (see the docstring)."""
    return tuple((tok.type, "" if tok.type in _STRUCTURE else tok.string) for tok in _kept(source))


def _gap(before: tuple[int, str] | None, after: tuple[int, str], unary: bool, brackets: int) -> str:
    """The spacing between two tokens of a logical line: " " unless no two tokens can fuse
    and none is needed: ``x.y``, ``f(x)``, ``a[i]``, ``(a, b)``, ``-x``, ``f(key=value)``
    (but ``1 .real``, ``from . import``)."""
    if before is None:
        return ""
    (kind, text), (next_kind, next_text) = before, after
    op, next_op = kind == token.OP, next_kind == token.OP
    if op and text in _DOTS and next_op and next_text in _DOTS:
        return " "  # ". ..." would be "...", "."
    if op and text == "." or next_op and next_text == ".":
        return " " if kind == token.NUMBER or text in _WORDS or next_text in _WORDS else ""
    if op and text in _OPENING or next_op and next_text in _NO_SPACE_BEFORE:
        return ""
    if next_op and next_text in ("(", "[") and (
            text in _CLOSING if op else kind in (token.NAME, token.STRING) and text not in _WORDS):
        return ""  # a call or a subscript
    if unary or brackets and (op and text == "=" or next_op and next_text == "="):
        return ""
    return " "


def render(stream: Stream, rows: list[int] | None = None) -> tuple[str, list[int]]:
    """``stream`` as source text (a function of the stream alone), and, given each token's
    row in the student's file (``rows``), the student's row of every line of that text."""
    lines: list[str] = []
    origins: list[int] = []
    parts: list[str] = []
    level = brackets = 0
    before: tuple[int, str] | None = None
    unary = False
    for index, (kind, text) in enumerate(stream):
        row = rows[index] if rows else 0
        if kind == token.INDENT:
            level += 1
        elif kind == token.DEDENT:
            level -= 1
        elif kind == token.NEWLINE:
            lines.append(INDENT_TEXT * level + "".join(parts) + "\n")
            parts, before, unary, brackets = [], None, False, 0
        else:
            if not parts:
                origins.append(row)
            parts.append(_gap(before, (kind, text), unary, brackets) + text)
            origins.extend(row + offset for offset in range(1, text.count("\n") + 1))
            unary = kind == token.OP and text in _UNARY and (
                before is None or before[0] == token.OP and before[1] not in _CLOSING or before[1] in _WORDS)
            unary = unary or (kind, text, before) == (token.OP, "@", None)  # a decorator
            if kind == token.OP:
                brackets += (text in _OPENING) - (text in _CLOSING)
            before = (kind, text)
    if parts:  # a stream that does not end with NEWLINE (not one of tokenize's)
        lines.append(INDENT_TEXT * level + "".join(parts) + "\n")
    return "".join(lines), origins


def code_key(code: CodeType) -> tuple:
    """What ``code`` does, without where: its instructions (jumps and the exception table
    by instruction, not by offset), constants, names and nested code, recursively;
    leaving out line numbers, positions, the file name and the NOPs that only carry a
    line number (a call spread over several lines compiles with some)."""
    instructions, handlers = _instructions(code)
    return (instructions, handlers, tuple(_constant_key(value) for value in code.co_consts), code.co_names,
            code.co_varnames, code.co_freevars, code.co_cellvars, code.co_argcount,
            code.co_posonlyargcount, code.co_kwonlyargcount, code.co_flags, code.co_stacksize,
            code.co_name, getattr(code, "co_qualname", None))


_JUMPS = set(dis.hasjrel) | set(dis.hasjabs)
_SKIPPED = {"NOP", "EXTENDED_ARG"}  # EXTENDED_ARG's part is in the next instruction's arg


def _instructions(code: CodeType) -> tuple[tuple, tuple]:
    listed = list(dis.get_instructions(code))
    where, count = {}, 0  # offset -> index among the kept instructions
    for instruction in listed:
        where[instruction.offset] = count
        count += instruction.opname not in _SKIPPED
    kept = tuple((ins.opname, where.get(ins.argval) if ins.opcode in _JUMPS else ins.arg)
                 for ins in listed if ins.opname not in _SKIPPED)
    handlers = tuple((where.get(entry.start), where.get(entry.end), where.get(entry.target), entry.depth,
                      entry.lasti) for entry in getattr(dis.Bytecode(code), "exception_entries", ()))
    return kept, handlers


def _constant_key(value: object) -> object:
    if isinstance(value, CodeType):
        return ("code", code_key(value))
    if isinstance(value, (tuple, frozenset)):
        return (type(value).__name__, type(value)(_constant_key(item) for item in value))
    if isinstance(value, (float, complex)):
        return (type(value).__name__, repr(value))  # 0.0 and -0.0 differ
    return (type(value).__name__, value)


def compiled(source: bytes | str) -> CodeType | None:
    """``source`` compiled as a module, or None if it does not compile."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes etc.: the student's checks report them
            return compile(source, "<module>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


@dataclass(frozen=True)
class Canonical:
    """A module's canonical copy: ``text`` (UTF-8) and, for each of its lines, the line
    of the student's file it comes from (``lines[i]`` for copy line ``i + 1``)."""

    text: bytes
    lines: tuple[int, ...]

    def own_line(self, number: int) -> int | None:
        return self.lines[number - 1] if 1 <= number <= len(self.lines) else None


def canonical_copy(source: bytes) -> Canonical | None:
    """The canonical rendering of ``source``, or None where it is not provably the same
    program (the source does not tokenize or compile, or the rendering compiles differently)
    or the file is larger than ``MAX_NORMALIZED_BYTES``."""
    if len(source) > MAX_NORMALIZED_BYTES:
        return None
    original = compiled(source)
    if original is None:
        return None
    try:
        kept = _kept(source)
    except NotTokenizable:
        return None
    stream = tuple((tok.type, "" if tok.type in _STRUCTURE else tok.string) for tok in kept)
    text, origins = render(stream, [tok.start[0] for tok in kept])
    copy = compiled(text)
    if copy is None or code_key(copy) != code_key(original):
        return None
    return Canonical(text.encode("utf-8"), tuple(origins))


@dataclass(frozen=True)
class StagedFiles:
    """What a bar's worker is given: ``files`` (file name -> bytes; a missing module is
    absent), and the modules among them staged as their canonical copy (``copies``)."""

    files: dict[str, bytes] = field(default_factory=dict)
    copies: dict[str, Canonical] = field(default_factory=dict)


def normalizing() -> bool:
    return os.environ.get(RAW_KEY_ENV, "") != "1"


def staged_files(folder: Path | None, modules: tuple[str, ...], normalize: bool | None = None) -> StagedFiles:
    """The bytes a bar over ``modules`` of ``folder`` stages and is keyed by: each module's
    canonical copy, or its raw bytes where there is none; a missing file, a symbolic link
    or anything but a regular file is not staged."""
    normalize = normalizing() if normalize is None else normalize
    staged = StagedFiles()
    for name in modules if folder is not None else ():
        path = Path(folder) / f"{name}.py"
        if path.is_symlink() or not path.is_file():
            continue
        source = path.read_bytes()
        copy = canonical_copy(source) if normalize else None
        staged.files[path.name] = copy.text if copy else source
        if copy:
            staged.copies[name] = copy
    return staged


_FRAME = re.compile(r'^  File "(?P<path>[^"\n]*?(?P<name>\w+)\.py)", line (?P<line>\d+)(?P<rest>.*)'
                    r"(?P<code>\n    .*)?", re.M)


def cite_own_lines(text: str, copies: Mapping[str, Canonical], own_folder: Path | None = None) -> str:
    """``text`` (a formatted traceback) with each frame of a canonical copy citing the
    student's file and line. A frame is taken for one only if it names a copied module,
    is not the student's own file (in-process runs) and shows the copy's line verbatim."""
    if not copies:
        return text

    def own(match: re.Match) -> str:
        name, number = match["name"], int(match["line"])
        copy = copies.get(name)
        if copy is None or own_folder is not None and match["path"] == str(Path(own_folder) / f"{name}.py"):
            return match[0]
        lines = copy.text.decode("utf-8").splitlines()
        shown = (match["code"] or "").strip()
        if not 1 <= number <= len(lines) or lines[number - 1].strip() != shown:
            return match[0]
        return f'  File "{name}.py", line {copy.own_line(number)}{match["rest"]}{match["code"] or ""}'

    return _FRAME.sub(own, text)


def _main(paths: list[str]) -> None:
    """``python -m grader.checking.normalized_source FILE...``: print each canonical copy."""
    for path in paths:
        copy = canonical_copy(Path(path).read_bytes())
        sys.stdout.write(copy.text.decode("utf-8") if copy else f"# {path}: kept as written\n")


if __name__ == "__main__":
    _main(sys.argv[1:])
