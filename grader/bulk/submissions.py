"""Find each student's exercise modules, safely, and stage them for grading.

``SUBMISSIONS`` holds one entry per student: a folder, a ``.zip`` or a ``.ipynb``; the
student id is the entry's name (without ``.zip``/``.ipynb``; ``student-`` before a name
that a results file has, like ``gradebook.csv``). ``stage`` copies just the
exercise modules it finds (``activations.py``... at any depth, the shallowest copy
winning) into a fresh folder, so the grader never sees stray files.

Nothing in an entry is trusted: no member path is ever used to write a file (so ``../``
members cannot escape: only ``<module>.py`` is written into the staging folder),
symbolic links are not followed, ``__MACOSX``, ``__pycache__`` and hidden folders are
ignored, an archive may declare at most ``MAX_MEMBERS`` members and
``MAX_ARCHIVE_BYTES`` of content, and no file is read past ``MAX_MODULE_BYTES``
(``MAX_NOTEBOOK_BYTES`` for a notebook), whatever its header claims. File names that
are not UTF-8 are fine: they are only compared with the module names. A notebook is
turned into modules by ``grader.notebook_extract.extract_modules``.
"""

from __future__ import annotations

import os
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

from grader.bulk.layout import CLASS_FILES
from grader.paths import EXERCISE_MODULES

MAX_MEMBERS = 2000
MAX_ARCHIVE_BYTES = 100 << 20
MAX_MODULE_BYTES = 1 << 20
MAX_NOTEBOOK_BYTES = 32 << 20
MODULE_FILES = {f"{name}.py" for name in EXERCISE_MODULES}
IGNORED_FOLDERS = {"__MACOSX", "__pycache__", ".ipynb_checkpoints"}


class InvalidSubmission(Exception):
    """The entry cannot be graded; the message is the reason given to the student."""


@dataclass(frozen=True)
class Entry:
    """One student's submission."""

    id: str
    path: Path


@dataclass(frozen=True)
class _File:
    """A regular file inside an entry: where it is, and how to read it (capped)."""

    parts: tuple[str, ...]
    read: Callable[[int], bytes]

    @property
    def name(self) -> str:
        return self.parts[-1]


def printable(name: str) -> str:
    """A file name as text that any file, CSV or terminal accepts (bad bytes escaped)."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(char if char.isprintable() else f"\\x{ord(char):02x}" for char in text)


def discover(folder: Path, skip: Path | None = None) -> list[Entry]:
    """The entries of ``folder`` (folders, ``.zip`` and ``.ipynb`` files), sorted by id.

    ``skip`` is a folder that is not a student's (the results, when kept inside ``folder``).
    """
    entries: dict[str, Entry] = {}
    skipped = Path(skip).resolve() if skip is not None else None
    for path in sorted(Path(folder).iterdir()):
        name = path.name
        if name.startswith(".") or name in IGNORED_FOLDERS or path.is_symlink() or path.resolve() == skipped:
            continue
        if path.is_dir():
            ident = name
        elif path.suffix.lower() in (".zip", ".ipynb") and path.is_file():
            ident = path.stem
        else:
            continue
        ident = printable(ident)
        if ident in entries or ident in ("", ".", ".."):
            ident = printable(name)  # alice/ and alice.zip: the zip keeps its suffix
        if ident in CLASS_FILES:  # RESULTS/gradebook.csv must stay the gradebook
            ident = f"student-{ident}"
        entries[ident] = Entry(ident, path)
    return sorted(entries.values(), key=lambda entry: entry.id)


def stage(entry: Entry, dest: Path) -> list[str]:
    """Write ``entry``'s exercise modules into ``dest``; return notes for the student.

    Raises ``InvalidSubmission`` when nothing gradable is found or a limit is broken.
    """
    dest.mkdir(parents=True, exist_ok=True)
    files = list(_files(entry.path))
    notes: list[str] = []
    chosen = _choose_modules(files, notes)
    for name, found in chosen.items():
        data = found.read(MAX_MODULE_BYTES + 1)
        if len(data) > MAX_MODULE_BYTES:
            raise InvalidSubmission(f"{'/'.join(found.parts)} is larger than {MAX_MODULE_BYTES >> 20} MB")
        (dest / name).write_bytes(data)
    if not chosen:
        _stage_notebook(files, dest, notes)
    return notes


def _choose_modules(files: list[_File], notes: list[str]) -> dict[str, _File]:
    """For each module name, its shallowest copy (first by path on a tie)."""
    chosen: dict[str, _File] = {}
    for found in sorted(files, key=lambda f: (len(f.parts), f.parts)):
        if found.name not in MODULE_FILES:
            continue
        if found.name in chosen:
            notes.append(f"several copies of {found.name}: graded {'/'.join(chosen[found.name].parts)}")
            continue
        chosen[found.name] = found
    return chosen


def _stage_notebook(files: list[_File], dest: Path, notes: list[str]) -> None:
    notebooks = sorted((f for f in files if f.name.lower().endswith(".ipynb")), key=lambda f: (len(f.parts), f.parts))
    if not notebooks:
        raise InvalidSubmission("no exercise modules found (expected some of: " + ", ".join(sorted(MODULE_FILES)) + ")")
    try:
        from grader.notebook_extract import extract_modules
    except ImportError:
        raise InvalidSubmission("a notebook submission, but this grader cannot read notebooks "
                                "(grader.notebook_extract is missing)") from None
    data = notebooks[0].read(MAX_NOTEBOOK_BYTES + 1)
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise InvalidSubmission(f"the notebook is larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
    with tempfile.TemporaryDirectory() as scratch:
        notebook = Path(scratch) / "submission.ipynb"
        notebook.write_bytes(data)
        try:
            written = extract_modules(notebook, dest)
        except ValueError as error:
            reason = str(error).replace(str(notebook), "/".join(notebooks[0].parts))  # no scratch paths
            raise InvalidSubmission(f"the notebook could not be read: {reason}") from None
    if not written:
        raise InvalidSubmission("the notebook has no exercise cells (marked '# [module.py n/m]')")
    notes.append(f"graded the exercise cells of {'/'.join(notebooks[0].parts)}")


def _files(path: Path) -> Iterator[_File]:
    if path.is_dir():
        yield from _folder_files(path)
    elif path.suffix.lower() == ".zip":
        yield from _zip_files(path)
    else:
        yield _File((path.name,), lambda size: _read_capped(path, size))


def _ignored(parts: tuple[str, ...]) -> bool:
    return any(part in IGNORED_FOLDERS or part.startswith(".") for part in parts[:-1])


def _folder_files(root: Path) -> Iterator[_File]:
    """Regular files under ``root``; symbolic links (files or folders) are skipped."""
    for folder, subfolders, names in os.walk(root, followlinks=False):
        subfolders[:] = sorted(name for name in subfolders if name not in IGNORED_FOLDERS and not name.startswith("."))
        for name in sorted(names):
            path = Path(folder, name)
            if stat.S_ISREG(path.lstat().st_mode):
                yield _File(path.relative_to(root).parts, lambda size, path=path: _read_capped(path, size))


def _read_capped(path: Path, size: int) -> bytes:
    """At most ``size`` bytes of a regular file, refusing to follow a symlink swapped in."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as stream:
        return stream.read(size)


def _zip_files(path: Path) -> Iterator[_File]:
    try:
        archive = zipfile.ZipFile(path)
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:  # UnicodeDecodeError: a bad UTF-8 name
        raise InvalidSubmission(f"{path.name} is not a readable zip file ({error})") from None
    if len(members) > MAX_MEMBERS:
        raise InvalidSubmission(f"{path.name} has {len(members)} files (limit {MAX_MEMBERS})")
    declared = sum(member.file_size for member in members)
    if declared > MAX_ARCHIVE_BYTES:
        raise InvalidSubmission(f"{path.name} expands to {declared / 2**20:.0f} MB "
                                f"(limit {MAX_ARCHIVE_BYTES >> 20} MB): not a plausible submission")
    for member in members:
        parts = PurePosixPath(member.filename.replace("\\", "/")).parts
        kind = stat.S_IFMT(member.external_attr >> 16)
        if member.is_dir() or not parts or _ignored(parts) or kind not in (0, stat.S_IFREG):
            continue  # folders, links, devices: never extracted
        yield _File(parts, lambda size, member=member: _read_member(archive, member, size))


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, size: int) -> bytes:
    try:
        with archive.open(member) as stream:
            return stream.read(size)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError) as error:
        raise InvalidSubmission(f"{member.filename} cannot be read from the zip ({error})") from None


__all__ = ["Entry", "InvalidSubmission", "discover", "stage", "printable"]
