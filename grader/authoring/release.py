"""A student release: the repository without solutions or instructor material.

The copy keeps what a student needs (exercises, grader, data, packaging, README) and
drops ``solutions/``, the project's own ``tests/`` and ``bench/`` (they embed reference
code), instructor notebooks and anything git ignores. ``leaked_solution_lines`` proves
no reference code came along.

The withheld checks (``grader/test_<exercise>_hidden.py``, ``grader.check_spec``) stay
behind too; the release carries ``grader/withheld_checks.json`` in their place (how many
checks and points per exercise, no name or title), and ``leaked_withheld_checks`` proves
that no withheld file, check function name or title came along.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from grader.atomic import write_json_atomic
from grader.authoring.solution_markers import BEGIN, END
from grader.check_spec import WITHHELD_MANIFEST, is_hidden_file, withheld_manifest
from grader.errors import CourseError
from grader.launch import list_checks
from grader.paths import REPO_ROOT, SOLUTIONS_DIR


class ReleaseError(CourseError, FileExistsError):
    """The release's destination exists already, or instructor material leaked into it."""

#: Top-level entries a student release carries.
RELEASED = ("exercises", "grader", "data_cache", "notebooks/student", "pyproject.toml", "README.md",
            "Makefile", ".gitignore")
#: Solution lines shorter than this (``return x``, ``else:``) are too generic to flag.
MIN_LEAK_CHARS = 25


def write_release(destination: Path, checks: list[dict] | None = None) -> list[Path]:
    """Copy the student-facing files into ``destination`` (which must not exist), without
    the withheld checks, and write their manifest from ``checks`` (the grader's
    ``--list-checks``; listed afresh by default)."""
    destination = Path(destination)
    if destination.exists():
        raise ReleaseError(f"{destination} already exists; choose a new folder")
    checks = list_checks() if checks is None else checks
    tracked = _tracked_files()
    written = []
    for relative in tracked:
        if not any(relative == entry or relative.startswith(entry + "/") for entry in RELEASED):
            continue
        if is_hidden_file(Path(relative)):
            continue
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / relative, target)
        written.append(target)
    manifest = destination / WITHHELD_MANIFEST.relative_to(REPO_ROOT)
    write_json_atomic(manifest, withheld_manifest(checks))
    return [*written, manifest]


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
    for path in _text_files(folder):
        for line in _text_lines(path):
            if line.strip() in secret:
                leaks.append((str(path.relative_to(folder)), line.strip()))
    return leaks


def withheld_secrets(checks: list[dict]) -> set[str]:
    """The function names and titles of the withheld checks among ``checks``."""
    withheld = [check for check in checks if check.get("visibility", "visible") != "visible"]
    return {check["nodeid"].split("::")[-1] for check in withheld} | {check["title"] for check in withheld}


def leaked_withheld_checks(folder: Path, checks: list[dict] | None = None) -> list[tuple[str, str]]:
    """(file, what) for every withheld check file, function name or title in a release folder."""
    secret = withheld_secrets(list_checks() if checks is None else checks)
    folder = Path(folder)
    leaks = [(str(path.relative_to(folder)), "a file of withheld checks")
             for path in folder.rglob("*") if is_hidden_file(path)]
    for path in _text_files(folder):
        text = "\n".join(_text_lines(path))
        leaks += [(str(path.relative_to(folder)), found) for found in sorted(secret) if found in text]
    return leaks


def check_release(folder: Path, checks: list[dict] | None = None) -> None:
    """``ReleaseError`` naming the first leaks if reference code or a withheld check is in ``folder``."""
    leaks = leaked_solution_lines(folder) + leaked_withheld_checks(folder, checks)
    if leaks:
        raise ReleaseError(f"instructor material leaked into the release {folder}: {leaks[:3]}")


def _text_files(folder: Path) -> list[Path]:
    return [path for path in Path(folder).rglob("*")
            if path.is_file() and path.suffix in (".py", ".ipynb", ".md", ".txt", ".json")]


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
