"""A student release: the repository without solutions or instructor material.

The copy keeps what a student needs (exercises, grader, data, packaging, README) and
drops ``solutions/``, the project's own ``tests/`` and ``bench/`` (they embed reference
code), instructor notebooks and anything git ignores. ``leaked_solution_lines`` proves
no reference code came along.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from grader.authoring.solution_markers import BEGIN, END
from grader.errors import CourseError
from grader.paths import REPO_ROOT, SOLUTIONS_DIR


class ReleaseError(CourseError, FileExistsError):
    """The release's destination exists already."""

#: Top-level entries a student release carries.
RELEASED = ("exercises", "grader", "data_cache", "notebooks/student", "pyproject.toml", "README.md",
            "Makefile", ".gitignore")
#: Solution lines shorter than this (``return x``, ``else:``) are too generic to flag.
MIN_LEAK_CHARS = 25


def write_release(destination: Path) -> list[Path]:
    """Copy the student-facing files into ``destination`` (which must not exist)."""
    destination = Path(destination)
    if destination.exists():
        raise ReleaseError(f"{destination} already exists; choose a new folder")
    tracked = _tracked_files()
    written = []
    for relative in tracked:
        if not any(relative == entry or relative.startswith(entry + "/") for entry in RELEASED):
            continue
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / relative, target)
        written.append(target)
    return written


def _tracked_files() -> list[str]:
    """Files git tracks (falls back to walking the tree outside a checkout)."""
    try:
        listing = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True)
        return [name for name in listing.stdout.decode().split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        return [str(path.relative_to(REPO_ROOT)) for path in REPO_ROOT.rglob("*") if path.is_file()]


def solution_lines(solutions_dir: Path = SOLUTIONS_DIR) -> set[str]:
    """Distinctive lines of reference code (inside the solution markers)."""
    lines: set[str] = set()
    for path in solutions_dir.glob("*.py"):
        inside = False
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped in (BEGIN, END):
                inside = stripped == BEGIN
            elif inside and len(stripped) >= MIN_LEAK_CHARS and not stripped.startswith("#"):
                lines.add(stripped)
    return lines


def leaked_solution_lines(folder: Path, solutions_dir: Path = SOLUTIONS_DIR) -> list[tuple[str, str]]:
    """(file, line) for every reference-code line found in a release folder."""
    secret = solution_lines(solutions_dir)
    leaks = []
    for path in Path(folder).rglob("*"):
        if path.is_file() and path.suffix in (".py", ".ipynb", ".md", ".txt", ".json"):
            for line in _text_lines(path):
                if line.strip() in secret:
                    leaks.append((str(path.relative_to(folder)), line.strip()))
    return leaks


def _text_lines(path: Path) -> list[str]:
    """A file's lines; for a notebook, the lines of its cells' sources."""
    text = path.read_text(errors="replace")
    if path.suffix == ".ipynb":
        import nbformat

        try:
            notebook = nbformat.reads(text, as_version=4)
            text = "\n".join(cell.source for cell in notebook.cells)
        except Exception:  # noqa: BLE001 - not a notebook: scan it as text
            pass
    return text.splitlines()
