"""Build the course notebooks from ``solutions/`` and the lesson (never edit them).

``course notebooks`` writes two notebooks with nbformat, from the same sources as
``exercises/`` and from the lesson's Markdown in ``grader/authoring/lesson/``
(``grader.authoring.lesson_text`` reads it):

- ``notebooks/student/mnist_course.ipynb``: the lesson, the exercise stubs (the
  solution blocks replaced exactly as ``course build`` does), a check cell per file;
- ``notebooks/instructor/mnist_course.ipynb``: the same with the reference code.

Each top-level part of a solution module (its docstring and imports, then every
function or class) becomes one exercise cell whose first line is the marker
``# [module.py i/n]`` (``grader.notebook.extract``). The build checks that joining the
parts gives back the module byte for byte, so extracting the instructor notebook
reproduces ``solutions/``. Cell ids and metadata are fixed, so a build is byte-identical
to the last one: ``notebooks_up_to_date`` compares the committed files with a fresh
build (a project test and ``course notebooks --check`` use it).

Cell tags: ``exercise`` (graded code), ``check``, ``demo`` and ``setup``. Every code cell
also carries ``otter_ignore``: the otter autograder grades the code it extracts from the
submission file in a separate grader process, so it runs no notebook cell at all (a
top-level endless loop in a student's cell then costs a check, not the whole run).
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import nbformat
from nbformat import v4

from grader.authoring import lesson_text
from grader.authoring.solution_markers import strip_solutions
from grader.errors import CourseError
from grader.notebook.extract import join_parts, marker_line
from grader.paths import EXERCISE_MODULES, REPO_ROOT, SOLUTIONS_DIR

NOTEBOOK_NAME = "mnist_course.ipynb"
KINDS = ("student", "instructor")
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
#: The tag of cells the otter autograder does not run (all code cells; see above).
OTTER_IGNORE = "otter_ignore"


class NotebookBuildError(CourseError, ValueError):
    """A solution module the notebook cannot be built from."""


def notebook_path(kind: str, root: Path = REPO_ROOT) -> Path:
    """``notebooks/<kind>/mnist_course.ipynb`` under ``root``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return Path(root) / "notebooks" / kind / NOTEBOOK_NAME


def module_parts(source: str, filename: str = "<module>") -> list[tuple[str, str]]:
    """``(name, text)`` of a module's parts: ``header``, then each top-level def/class.

    A part starts at its ``def``/``class`` line (or its decorators, or the comment lines
    right above them) and runs to the next part. Raises ``NotebookBuildError`` unless
    ``join_parts`` of the texts gives ``source`` back exactly.
    """
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as error:
        raise NotebookBuildError(f"{filename} does not parse: {error}") from error
    lines = source.splitlines(keepends=True)
    starts: list[tuple[int, str]] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            while start > 0 and lines[start - 1].lstrip().startswith("#"):
                start -= 1
            starts.append((start, node.name))
    cuts = [(0, "header"), *starts]
    parts = []
    for index, (start, name) in enumerate(cuts):
        end = cuts[index + 1][0] if index + 1 < len(cuts) else len(lines)
        text = "".join(lines[start:end]).strip("\n")
        if text:
            parts.append((name, text))
    if join_parts(text for _, text in parts) != source:
        raise NotebookBuildError(
            f"{filename}: its parts do not join back into the file; separate top-level "
            "definitions by exactly two blank lines, end the file with one newline, and "
            "keep the docstring and imports above the first definition"
        )
    return parts


def exercise_cells(module: str, kind: str, solutions_dir: Path = SOLUTIONS_DIR) -> list[tuple[str, str]]:
    """``(part name, cell source)`` of a module: marker line, then stub or reference code."""
    path = Path(solutions_dir) / f"{module}.py"
    parts = module_parts(path.read_text(), str(path))
    cells = []
    for number, (name, text) in enumerate(parts, start=1):
        code = strip_solutions(text + "\n", f"{path}:{name}").rstrip("\n") if kind == "student" else text
        cells.append((name, f"{marker_line(module, number, len(parts))}\n{code}"))
    return cells


def _read_lesson():
    """The lesson's cells, part notes and check notes (``grader.authoring.lesson_text``)."""
    try:
        return lesson_text.lesson(), lesson_text.part_notes(), lesson_text.check_notes(EXERCISE_MODULES)
    except lesson_text.LessonError as error:
        raise NotebookBuildError(str(error)) from error


def _part_note(module: str, name: str, source: str, part_notes: dict[str, str]) -> str:
    key = f"{module}.{name}"
    if key in part_notes:
        return part_notes[key]
    if name == "header":
        return f"### Exercise file `{module}.py`"
    node = next(n for n in ast.parse(source.split("\n", 1)[1]).body if getattr(n, "name", None) == name)
    summary = (ast.get_docstring(node) or "").strip().split("\n", 1)[0]
    return f"**`{name}`**: {summary}" if summary else f"**`{name}`**"


def _code(source: str, *tags: str):
    cell = v4.new_code_cell(source)
    cell.metadata = {"tags": list(tags)} if tags else {}
    return cell


def build_notebook(kind: str, solutions_dir: Path = SOLUTIONS_DIR) -> nbformat.NotebookNode:
    """The course notebook for ``kind`` ("student" or "instructor"), unexecuted."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    lesson, part_notes, check_notes = _read_lesson()
    cells = []
    parts_seen = set()
    for what, content in lesson:
        if what == "md":
            cells.append(v4.new_markdown_cell(content))
        elif what == "setup":
            cells.append(_code(content, "setup", OTTER_IGNORE))
        elif what == "demo":
            cells.append(_code(content, "demo", OTTER_IGNORE))
        elif what == "check":
            cells.append(_code(content, "check", OTTER_IGNORE))
        elif what == "exercise":
            if content not in EXERCISE_MODULES:
                raise NotebookBuildError(f"lesson.md: {content!r} is not an exercise module")
            for name, source in exercise_cells(content, kind, solutions_dir):
                parts_seen.add(f"{content}.{name}")
                note = _part_note(content, name, source, part_notes)
                if note:
                    cells.append(v4.new_markdown_cell(note))
                cells.append(_code(source, "exercise", OTTER_IGNORE))
            cells.append(v4.new_markdown_cell(check_notes[content]))
            cells.append(_code(f"check({content!r})", "check", OTTER_IGNORE))
        else:
            raise NotebookBuildError(f"lesson.md: unknown cell kind {what!r}")
    missing = set(EXERCISE_MODULES) - {content for what, content in lesson if what == "exercise"}
    if missing:
        raise NotebookBuildError(f"lesson.md: no exercise cells for {sorted(missing)}")
    unused = sorted(set(part_notes) - parts_seen)
    if unused:
        raise NotebookBuildError(f"part_notes.md: no exercise cell for the notes {unused}")
    for index, cell in enumerate(cells):
        digest = hashlib.sha1(f"{cell.cell_type}\0{cell.source}".encode()).hexdigest()[:8]
        cell.id = f"c{index:03d}-{digest}"
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata = {
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
        "course": {"kind": kind, "generated_by": "course notebooks (grader/authoring/notebooks.py); do not edit"},
    }
    nbformat.validate(notebook)
    return notebook


def render_notebooks(solutions_dir: Path = SOLUTIONS_DIR) -> dict[str, str]:
    """Relative path (``notebooks/<kind>/mnist_course.ipynb``) -> notebook text."""
    rendered = {}
    for kind in KINDS:
        text = nbformat.writes(build_notebook(kind, solutions_dir))
        rendered[f"notebooks/{kind}/{NOTEBOOK_NAME}"] = text if text.endswith("\n") else text + "\n"
    return rendered


def write_notebooks(root: Path = REPO_ROOT, solutions_dir: Path = SOLUTIONS_DIR) -> list[Path]:
    """Write both notebooks under ``root``; returns their paths."""
    written = []
    for relative, text in render_notebooks(solutions_dir).items():
        path = Path(root) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def notebooks_up_to_date(root: Path = REPO_ROOT, solutions_dir: Path = SOLUTIONS_DIR) -> list[str]:
    """Relative paths of notebooks that differ from a fresh build (empty: up to date)."""
    stale = []
    for relative, text in render_notebooks(solutions_dir).items():
        path = Path(root) / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(relative)
    return stale


__all__ = ["build_notebook", "render_notebooks", "write_notebooks", "notebooks_up_to_date",
           "notebook_path", "module_parts", "exercise_cells", "NotebookBuildError", "NOTEBOOK_NAME"]
