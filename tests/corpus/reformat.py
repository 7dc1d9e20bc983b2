"""Formatting-only variants of a module: the same tokens in another layout.

``reformat(source, style)`` rewrites ``source`` the way students' copies of one program
differ: comments reworded, added or dropped, blank lines added, the spacing of some lines
changed, calls reflowed over several lines, the blocks indented with tabs or two spaces.
Every NAME, OP, NUMBER and STRING token (docstrings included) is kept, so the result has
the source's normalized form (``grader.checking.normalized_source``); ``style`` (any int)
seeds which lines change and picks the indentation.
"""

from __future__ import annotations

import io
import random
import token
import tokenize
from collections.abc import Iterator

INDENTS = ("    ", "\t", "  ", "      ")
_FSTRING_START = getattr(token, "FSTRING_START", None)  # Python 3.12+: f-strings in pieces
_WORDS = ("note", "the idea here", "see the lesson", "TODO tidy", "step", "shape check", "as in class")


def _logical_lines(source: str) -> Iterator[tuple[int, list[tokenize.TokenInfo]]]:
    """``(block level, tokens)`` per logical line, comments and NL left out."""
    level, line = 0, []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == token.INDENT:
            level += 1
        elif tok.type == token.DEDENT:
            level -= 1
        elif tok.type == token.NEWLINE:
            yield level, line
            line = []
        elif tok.type not in (token.COMMENT, token.NL, token.ENDMARKER):
            line.append(tok)


def _respaced(tokens: list[tokenize.TokenInfo], rng: random.Random, reflow: bool, indent: str) -> str:
    """A one-row logical line's tokens with other spacing, or reflowed after its commas."""
    depth, parts = 0, []
    for tok in tokens:
        parts.append(tok.string)
        depth += tok.string in "([{" and tok.type == token.OP
        depth -= tok.string in ")]}" and tok.type == token.OP
        if reflow and depth and tok.string == ",":
            parts.append("\n" + indent * 2)
        else:
            parts.append(rng.choice((" ", " ", "  ", "   ")))
    return "".join(parts).rstrip()


def reformat(source: str, style: int) -> str:
    """``source`` in layout ``style`` (see the module docstring)."""
    rng = random.Random(style)
    indent = INDENTS[style % len(INDENTS)]
    rows = source.splitlines(keepends=True)
    out: dict[int, str] = {}  # row (0-based) -> its new text
    before: dict[int, str] = {}  # row -> lines inserted above it
    for level, tokens in _logical_lines(source):
        first, last = tokens[0].start[0] - 1, tokens[-1].end[0] - 1
        lead = indent * level
        if rng.random() < 0.15:
            before[first] = "\n" * rng.randint(1, 2)
        if rng.random() < 0.2:
            before[first] = before.get(first, "") + f"{lead}# {rng.choice(_WORDS)}\n"
        if first == last and not any(tok.type == _FSTRING_START for tok in tokens) and rng.random() < 0.3:
            reflow = rng.random() < 0.5 and any(tok.string == "," for tok in tokens)
            comment = f"  # {rng.choice(_WORDS)}" if rng.random() < 0.3 else ""
            out[first] = lead + _respaced(tokens, rng, reflow, indent) + comment + "  \n"
        else:
            out[first] = lead + rows[first].lstrip(" \t")
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        row = tok.start[0] - 1
        if tok.type == token.COMMENT and row not in out and rows[row].strip().startswith("#"):
            words = tok.string.lstrip("#").split()
            out[row] = f"# {' '.join(reversed(words))} (reworded)\n" if style % 2 else "\n"
    return "".join(before.get(row, "") + out.get(row, text) for row, text in enumerate(rows))
