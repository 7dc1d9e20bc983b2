"""Disguised copies for the similarity thresholds (issue 13, part 4): a small, deterministic obfuscator.

``disguise(source)`` is what a student who copies a module and wants it to look like their
own does by hand, on text only (the code still parses and means the same):

- **renames every local variable** (a name assigned inside a function that is not a
  parameter, a module-level name or a builtin), consistently, in code and inside
  f-strings; parameters, attributes and keyword arguments keep their names (the grader
  calls them by name);
- **rewrites every comment** (its words reversed, with a prefix) and **moves** every
  comment at the end of a line of code to a line of its own above it;
- **reorders blank lines**: removes every blank line between statements and puts one
  after every third statement instead.

Nothing is random: the same source gives the same copy. ``tests/test_similarity.py`` and
``bench/similarity_thresholds.py`` check that each copy still parses, differs from its
original on most lines, and scores above the module's threshold.
"""

from __future__ import annotations

import ast
import builtins
import io
import re
import tokenize
from collections import defaultdict

NEW_NAMES = ("value", "result", "temp", "acc", "buf", "item", "data", "arr", "res", "tmp", "cur", "val")
BLANK_EVERY = 3


def _locals_to_rename(tree: ast.Module) -> list[str]:
    """Names assigned inside functions that are safe to rename everywhere, in order of first use."""
    kept = set(dir(builtins)) | {"self", "cls"}
    for node in tree.body:  # module-level names: imports, functions, classes, constants
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            kept.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            kept.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        else:
            kept.update(name.id for name in ast.walk(node) if isinstance(name, ast.Name))
    found: list[str] = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        arguments = function.args
        kept.update(arg.arg for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                                        arguments.vararg, arguments.kwarg) if arg is not None)
        for node in ast.walk(function):
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                kept.update(node.names)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                kept.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id not in found:
                found.append(node.id)
    return sorted((name for name in found if name not in kept), key=found.index)


def _new_names(names: list[str], taken: set[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    candidates = (f"{base}{index or ''}" for index in range(100) for base in NEW_NAMES)
    for name in names:
        new = next(candidate for candidate in candidates if candidate not in taken)
        mapping[name] = new
        taken.add(new)
    return mapping


def _rename_in_fstring(text: str, mapping: dict[str, str]) -> str:
    pattern = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, mapping)) + r")\b")
    return re.sub(r"\{[^{}]*\}", lambda field: pattern.sub(lambda m: mapping[m.group(1)], field.group(0)), text)


def _rewrite_comment(text: str) -> str:
    words = text.lstrip("#").split()
    return "# note: " + " ".join(reversed(words)) if words else "#"


def disguise(source: str) -> str:
    """A copy of ``source`` with locals renamed, comments rewritten and moved, blank lines reordered."""
    tree = ast.parse(source)
    names = _locals_to_rename(tree)
    taken = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} | set(dir(builtins))
    mapping = _new_names(names, taken)
    lines = source.splitlines(keepends=True)
    edits: dict[int, list[tuple[int, int, str]]] = defaultdict(list)  # row -> (start, end, text)
    above: dict[int, list[str]] = defaultdict(list)  # row -> comment lines to put above it
    blank_rows: set[int] = set()
    statement_ends: list[int] = []
    in_string: set[int] = set()
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    depth = 0
    significant = [t for t in tokens if t.type not in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT,
                                                        tokenize.DEDENT, tokenize.NEWLINE)]
    position = {id(t): index for index, t in enumerate(significant)}
    for token in tokens:
        (row, col), (end_row, end_col) = token.start, token.end
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
        elif token.type == tokenize.NAME and token.string in mapping:
            index = position[id(token)]
            before = significant[index - 1].string if index else ""
            after = significant[index + 1].string if index + 1 < len(significant) else ""
            keyword = depth > 0 and after == "=" and before in ("(", ",")
            if before != "." and not keyword:
                edits[row].append((col, end_col, mapping[token.string]))
        elif token.type == tokenize.STRING and end_row > row:
            in_string.update(range(row + 1, end_row + 1))
        elif token.type == tokenize.STRING and re.match(r"(?i)[rb]*f", token.string) and mapping:
            edits[row].append((col, end_col, _rename_in_fstring(token.string, mapping)))
        elif token.type == tokenize.COMMENT:
            code_before = lines[row - 1][:col]
            if code_before.strip():  # at the end of a line of code: move it above that line
                indent = re.match(r"\s*", lines[row - 1]).group(0)
                above[row].append(f"{indent}{_rewrite_comment(token.string)}\n")
                edits[row].append((len(code_before.rstrip()), end_col, ""))
            else:
                edits[row].append((col, end_col, _rewrite_comment(token.string)))
        elif token.type == tokenize.NEWLINE:
            statement_ends.append(row)
    for row, line in enumerate(lines, start=1):
        if not line.strip() and row not in in_string:
            blank_rows.add(row)
    blank_after = set(statement_ends[BLANK_EVERY - 1::BLANK_EVERY])
    out: list[str] = []
    for row, line in enumerate(lines, start=1):
        out.extend(above.get(row, ()))
        for start, end, text in sorted(edits.get(row, ()), reverse=True):
            line = line[:start] + text + line[end:]
        if row not in blank_rows:
            out.append(line if line.endswith("\n") else line + "\n")
        if row in blank_after:
            out.append("\n")
    copy = "".join(out)
    ast.parse(copy)  # still Python
    return copy


__all__ = ["disguise"]
