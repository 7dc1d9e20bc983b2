"""The course notebook's lesson, read from Markdown in ``grader/authoring/lesson/``.

``grader.authoring.notebooks`` turns it into the student and instructor notebooks. Three files,
each documented at its top:

- ``lesson.md``: the notebook from top to bottom, a MyST Markdown notebook read with
  jupytext (``md:myst``). Markdown cells are Markdown (``+++`` separates two of them; one
  that is only an ``<!-- ... -->`` comment is a note for authors and is dropped). Code
  cells are ``{code-cell} ipython3`` blocks whose ``:tags:`` give their kind: ``setup``
  or ``demo`` (code the lesson runs), ``check`` (copied as is), or ``exercise``, whose
  only line names the module of ``solutions/`` whose cells go there.
- ``part_notes.md``: the note above each exercise cell, a section per ``## module.part``
  heading (``part`` is ``header`` or a top-level definition; an empty section: no note).
- ``check_notes.md``: ``## check``, the note above each file's check cell (``{module}``
  is the module name), and ``## module`` sections adding a sentence to that file's note.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import jupytext

LESSON_DIR = Path(__file__).resolve().parent / "lesson"
#: The kinds of code cells, one tag each in ``lesson.md``.
CODE_KINDS = ("setup", "demo", "exercise", "check")
_HEADING = re.compile(r"^## +(\S+) *$", re.MULTILINE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


class LessonError(ValueError):
    """A lesson file that does not follow its format."""


@cache
def lesson(path: Path = LESSON_DIR / "lesson.md") -> tuple[tuple[str, str], ...]:
    """``(kind, content)`` per cell of ``lesson.md``: ``md`` and the code kinds."""
    notebook = jupytext.reads(Path(path).read_text(encoding="utf-8"), fmt="md:myst")
    cells = []
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type == "markdown":
            if _COMMENT.fullmatch(cell.source.strip()) is None:
                cells.append(("md", cell.source))
            continue
        kinds = [tag for tag in cell.metadata.get("tags", []) if tag in CODE_KINDS]
        if cell.cell_type != "code" or len(kinds) != 1:
            raise LessonError(f"{Path(path).name}, cell {number}: a code cell needs one of the tags {CODE_KINDS}")
        cells.append((kinds[0], cell.source.strip() if kinds[0] == "exercise" else cell.source))
    return tuple(cells)


@cache
def sections(path: Path) -> dict[str, str]:
    """The ``## key`` sections of a notes file, by key (text before the first is ignored)."""
    pieces = _HEADING.split(Path(path).read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for key, text in zip(pieces[1::2], pieces[2::2]):
        if key in found:
            raise LessonError(f"{Path(path).name}: two sections `## {key}`")
        found[key] = text.strip("\n")
    return found


def part_notes() -> dict[str, str]:
    """The note above each exercise cell, by ``module.part``."""
    return sections(LESSON_DIR / "part_notes.md")


def check_notes(modules: Iterable[str]) -> dict[str, str]:
    """The markdown above the check cell of each of ``modules``, by module."""
    modules, notes = list(modules), sections(LESSON_DIR / "check_notes.md")
    if "check" not in notes or set(notes) - {"check", *modules}:
        raise LessonError(f"check_notes.md: sections must be `## check` and `## <module>` of {sorted(modules)}")
    return {module: notes["check"].replace("{module}", module) + (f" {notes[module]}" if notes.get(module) else "")
            for module in modules}
