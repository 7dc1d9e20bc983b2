"""Pull the exercise code out of a course notebook (or its ``.py`` export) into modules.

In the course notebook every exercise cell starts with a marker line naming the module
file it belongs to and its place in that file::

    # [convolution.py 5/7]
    def conv2d(image, kernel, stride=1, padding="valid"):
        ...

A module is the text of its parts, ordered by part number and joined by two blank lines
(PEP 8's spacing between top-level definitions), without the marker lines. For the
instructor notebook this gives back ``solutions/<module>.py`` byte for byte; for the
student notebook, the stubs of ``exercises/`` (without the generated-file note).

Rules a student can rely on (the notebook's introduction repeats them):

- only cells whose first code line is a marker count; code in other cells is never graded;
- a marker in the middle of a cell starts a new part there;
- if two cells carry the same marker, the later one wins (in a notebook file: the one
  further down; in a kernel's history: the one run last);
- shell and magic lines (``%time``, ``!pip``) are commented out, since a module cannot
  run them.

``extract_modules`` is what the bulk grader and the otter autograder call;
``modules_from_cells`` is shared with the in-notebook checks, which read the kernel's
input history instead of a file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable

from grader.errors import CourseError
from grader.paths import EXERCISE_MODULES


class ExtractError(CourseError, ValueError):
    """A file that is not a course notebook (or its ``.py`` export)."""

#: ``# [convolution.py 5/7]``: module, part number, number of parts.
MARKER = re.compile(r"^#\s*\[(?P<module>\w+)\.py\s+(?P<part>\d+)\s*/\s*(?P<parts>\d+)\]\s*$")
#: Cell separators of a notebook exported to Python (nbconvert's ``# In[ ]:``, ``# %%``).
PY_CELL_SEPARATOR = re.compile(r"^(# In\[[\d ]*\]:|# %%.*)\s*$")
#: Lines a plain module cannot run: IPython magics and shell escapes.
_MAGIC = re.compile(r"^(\s*)(%|!|get_ipython\(\))")
#: Text between two parts of a module (two blank lines).
PART_SEPARATOR = "\n\n\n"


def marker_line(module: str, part: int, parts: int) -> str:
    """The first line of exercise cell ``part`` (1-based) of ``module``."""
    return f"# [{module}.py {part}/{parts}]"


def join_parts(parts: Iterable[str]) -> str:
    """A module's text from its parts' texts (in order)."""
    texts = [part.strip("\n") for part in parts]
    return PART_SEPARATOR.join(text for text in texts if text) + "\n"


def parts_of_cell(source: str, from_script: bool = False) -> list[tuple[str, int, str]]:
    """``(module, part, code)`` for every marked chunk of one cell's source.

    Text before the first marker is not exercise code. With ``from_script`` (a cell cut
    out of a ``.py`` export), trailing comment lines at column 0 are dropped: they are
    the markdown cells that nbconvert writes as comments.
    """
    found: list[tuple[str, int, list[str]]] = []
    for line in source.splitlines():
        match = MARKER.match(line)
        if match and match["module"] in EXERCISE_MODULES:
            found.append((match["module"], int(match["part"]), []))
        elif found:
            found[-1][2].append(_without_magic(line))
    chunks = []
    for module, part, lines in found:
        while lines and (not lines[-1].strip() or (from_script and lines[-1].startswith("#"))):
            lines.pop()
        chunks.append((module, part, "\n".join(lines)))
    return chunks


def _without_magic(line: str) -> str:
    match = _MAGIC.match(line)
    return f"{match[1]}# {line[len(match[1]):]}" if match else line


def modules_from_cells(sources: Iterable[str], from_script: bool = False) -> dict[str, str]:
    """Module name -> text, from cell sources in order (later duplicates win)."""
    parts: dict[str, dict[int, str]] = {}
    for source in sources:
        for module, part, code in parts_of_cell(source or "", from_script):
            parts.setdefault(module, {})[part] = code
    ordered = sorted(parts, key=EXERCISE_MODULES.index)
    return {module: join_parts(parts[module][n] for n in sorted(parts[module])) for module in ordered}


def missing_parts(sources: Iterable[str]) -> dict[str, list[int]]:
    """Module -> part numbers its markers announce but no cell provides."""
    seen: dict[str, set[int]] = {}
    expected: dict[str, int] = {}
    for source in sources:
        for line in (source or "").splitlines():
            match = MARKER.match(line)
            if match and match["module"] in EXERCISE_MODULES:
                seen.setdefault(match["module"], set()).add(int(match["part"]))
                expected[match["module"]] = max(expected.get(match["module"], 0), int(match["parts"]))
    return {
        module: missing
        for module in sorted(seen, key=EXERCISE_MODULES.index)
        if (missing := sorted(set(range(1, expected[module] + 1)) - seen[module]))
    }


def cells_of_script(text: str) -> list[str]:
    """A ``.py`` export cut back into cells at its ``# In[ ]:`` / ``# %%`` lines."""
    cells: list[list[str]] = [[]]
    for line in text.splitlines():
        if PY_CELL_SEPARATOR.match(line):
            cells.append([])
        else:
            cells[-1].append(line)
    return ["\n".join(lines) for lines in cells]


def cells_of_notebook(path: Path) -> list[str]:
    """The sources of a notebook's code cells, in document order.

    Read as plain JSON (any nbformat 4 version, no validation), so a notebook that
    Jupyter, Colab or VS Code saved with extra metadata still works.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ExtractError(f"{path} is not a readable notebook: {error}") from error
    sources = []
    for cell in data.get("cells", []) if isinstance(data, dict) else []:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            sources.append("".join(source) if isinstance(source, list) else str(source))
    return sources


def read_modules(path: str | Path) -> dict[str, str]:
    """Module name -> text from a notebook, a ``.py`` export, or one module file.

    A ``.py`` without markers named after an exercise module (``convolution.py``) is
    that module as it is.
    """
    path = Path(path)
    if path.suffix == ".ipynb":
        return modules_from_cells(cells_of_notebook(path))
    if path.suffix == ".py":
        text = path.read_text(encoding="utf-8", errors="replace")
        modules = modules_from_cells(cells_of_script(text), from_script=True)
        if not modules and path.stem in EXERCISE_MODULES:
            modules = {path.stem: text}
        return modules
    raise ExtractError(f"{path.name}: expected a .ipynb notebook or a .py file")


def write_modules(modules: dict[str, str], dest_folder: str | Path) -> list[str]:
    """Write ``<module>.py`` files into ``dest_folder``; returns the module names."""
    folder = Path(dest_folder)
    folder.mkdir(parents=True, exist_ok=True)
    for module, text in modules.items():
        (folder / f"{module}.py").write_text(text, encoding="utf-8")
    return list(modules)


def extract_modules(ipynb_path: str | Path, dest_folder: str | Path) -> list[str]:
    """Write the exercise modules found in a submission into ``dest_folder``.

    Args:
        ipynb_path: a course notebook (``.ipynb``), its Python export (``.py`` with the
            marker lines), or a single exercise module (``convolution.py``).
        dest_folder: where ``<module>.py`` files go (created if needed); a folder that
            ``pytest grader/ --target`` can grade.

    Returns:
        The names of the modules written, in lesson order (``["activations", ...]``);
        an exercise whose cells are all missing has no file, and the grader reports it
        as missing.

    Raises:
        ValueError: the file is neither a readable notebook nor a ``.py`` file.
    """
    return write_modules(read_modules(ipynb_path), dest_folder)


__all__ = [
    "MARKER",
    "marker_line",
    "join_parts",
    "modules_from_cells",
    "missing_parts",
    "read_modules",
    "extract_modules",
]
