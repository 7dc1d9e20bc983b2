"""Build ``exercises/`` from ``solutions/``: the single-source marker stripper.

In a solution module, the code a student writes sits between two marker lines::

        # BEGIN SOLUTION
        return np.maximum(x, 0)
        # END SOLUTION

``strip_solutions`` replaces each block by one ``raise NotImplementedError(...)`` at the
BEGIN marker's indentation, naming the enclosing function. Malformed markers (nested,
unterminated, a stray END, END at another indentation, a misspelt marker) raise
``MarkerError`` with the file and line, and the result must still parse.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from grader.errors import CourseError

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
_MARKER_LIKE = re.compile(r"#\s*(BEGIN|END)[\s_-]*SOLUTION", re.IGNORECASE)
_DEF = re.compile(r"^(\s*)(?:async\s+)?(def|class)\s+(\w+)")
GENERATED_NOTE = (
    "# Exercise stubs: generated from solutions/ by `course build`; edit the function "
    "bodies marked 'not implemented yet'.\n"
)


class MarkerError(CourseError, ValueError):
    """A solution file whose markers cannot be stripped safely."""


@dataclass(frozen=True)
class _Block:
    begin: int  # 0-based line index of the BEGIN marker
    end: int  # 0-based line index of the END marker
    indent: str


def strip_solutions(source: str, filename: str = "<source>") -> str:
    """Return ``source`` with every solution block replaced by a stub ``raise``.

    Args:
        source: a solution module's text.
        filename: used in error messages only.

    Raises:
        MarkerError: malformed markers, or a result that is not valid Python.
    """
    lines = source.splitlines(keepends=True)
    blocks = _find_blocks(lines, filename)
    out: list[str] = []
    cursor = 0
    for block in blocks:
        out.extend(lines[cursor : block.begin])
        name = _enclosing_name(lines, block.begin, block.indent)
        out.append(
            f'{block.indent}raise NotImplementedError("{name}: not implemented yet - '
            f'read its docstring, then replace this line with your code")\n'
        )
        cursor = block.end + 1
    out.extend(lines[cursor:])
    result = "".join(out)
    try:
        ast.parse(result, filename=filename)
    except SyntaxError as error:
        raise MarkerError(f"{filename}: the stripped file does not parse: {error}") from error
    return result


def _find_blocks(lines: list[str], filename: str) -> list[_Block]:
    blocks: list[_Block] = []
    open_at: int | None = None
    open_indent = ""
    for index, line in enumerate(lines):
        stripped = line.strip()
        where = f"{filename}:{index + 1}"
        if not _MARKER_LIKE.search(line):
            continue
        indent = line[: len(line) - len(line.lstrip())]
        if stripped == BEGIN:
            if open_at is not None:
                raise MarkerError(f"{where}: nested '{BEGIN}' (block opened at line {open_at + 1})")
            open_at, open_indent = index, indent
        elif stripped == END:
            if open_at is None:
                raise MarkerError(f"{where}: '{END}' without a matching '{BEGIN}'")
            if indent != open_indent:
                raise MarkerError(
                    f"{where}: '{END}' is indented differently from its '{BEGIN}' "
                    f"at line {open_at + 1}"
                )
            if index == open_at + 1:
                raise MarkerError(f"{where}: empty solution block")
            blocks.append(_Block(open_at, index, open_indent))
            open_at = None
        else:
            raise MarkerError(
                f"{where}: malformed solution marker {stripped!r}; "
                f"write exactly '{BEGIN}' or '{END}' alone on the line"
            )
    if open_at is not None:
        raise MarkerError(f"{filename}:{open_at + 1}: '{BEGIN}' is never closed")
    return blocks


def _enclosing_name(lines: list[str], index: int, indent: str) -> str:
    """The ``Class.method`` or function whose body holds line ``index``."""
    names: list[str] = []
    depth = len(indent)
    for line in reversed(lines[:index]):
        match = _DEF.match(line)
        if match and len(match.group(1)) < depth:
            names.append(match.group(3))
            depth = len(match.group(1))
            if depth == 0:
                break
    return ".".join(reversed(names)) or "this exercise"


def render_exercises(solutions_dir: Path) -> dict[str, str]:
    """File name -> stub text for every solution module (nothing written)."""
    return {
        path.name: GENERATED_NOTE + strip_solutions(path.read_text(), str(path))
        for path in sorted(solutions_dir.glob("*.py"))
    }


def build_exercises(solutions_dir: Path, exercises_dir: Path) -> list[Path]:
    """Regenerate every ``*.py`` of ``exercises_dir`` from ``solutions_dir``.

    Returns the files written. Raises ``MarkerError`` before writing anything if any
    solution file is malformed.
    """
    stubs = render_exercises(solutions_dir)
    exercises_dir.mkdir(parents=True, exist_ok=True)
    for stale in exercises_dir.glob("*.py"):
        if stale.name not in stubs:
            stale.unlink()
    written = []
    for name, text in stubs.items():
        target = exercises_dir / name
        target.write_text(text)
        written.append(target)
    return written


def exercises_up_to_date(solutions_dir: Path, exercises_dir: Path) -> list[str]:
    """Names of exercise files that differ from a fresh build (empty: up to date)."""
    expected = render_exercises(solutions_dir)
    actual = {path.name: path.read_text() for path in exercises_dir.glob("*.py")}
    names = set(expected) | set(actual)
    return sorted(name for name in names if expected.get(name) != actual.get(name))
