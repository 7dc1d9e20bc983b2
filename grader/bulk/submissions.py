r"""Find each student's exercise modules, safely, and stage them for grading.

``SUBMISSIONS`` holds one entry per student: a folder, a ``.zip`` or a ``.ipynb``; the
student id is the entry's name (without ``.zip``/``.ipynb``; ``student-`` before a name
that a results file has, like ``gradebook.csv``), made printable (bytes that are not
UTF-8 and unprintable characters become ``\xNN``). Every entry gets an id of its own:
when several entries would get the same id (``\xff`` spelled out and a name holding
the byte 0xff), the one whose name is that id keeps it and the others get ``-`` and 8
hex digits of the SHA-256 of their raw name bytes (``\xff-1a2b3c4d``), which depends on
nothing but the name; an id longer than ``MAX_ID_BYTES`` is cut and gets the same
suffix. A top-level symbolic link or an archive in another format (``.tar.gz``,
``.rar``...) is an entry too, reported ``invalid`` with the reason, never dropped
silently; other stray files (``notes.txt``) and hidden entries are not students.

``stage`` copies just the exercise modules it finds (``activations.py``... at any
depth, the shallowest copy winning) into a fresh folder, so the grader never sees
stray files.

Nothing in an entry is trusted: no member path is ever used to write a file (so ``../``
members cannot escape: only ``<module>.py`` is written into the staging folder),
symbolic links are not followed, ``__MACOSX``, ``__pycache__`` and hidden folders are
ignored, an archive may declare at most ``MAX_MEMBERS`` members and
``MAX_ARCHIVE_BYTES`` of content, and no file is read past ``MAX_MODULE_BYTES``
(``MAX_NOTEBOOK_BYTES`` for a notebook), whatever its header claims. File names that
are not UTF-8 are fine: they are only compared with the module names. A notebook is
turned into modules by ``grader.notebook.extract.extract_modules``.
"""

from __future__ import annotations

import hashlib
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
#: Entries graded: folders and these files.
ENTRY_SUFFIXES = (".zip", ".ipynb")
#: Archives a student may have sent instead of a zip: reported invalid, not ignored.
OTHER_ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".gz", ".bz2", ".xz",
                  ".7z", ".rar")
#: A student id is at most this long in bytes (a results folder's name, with room to spare).
MAX_ID_BYTES = 200
ID_HASH_DIGITS = 8


class InvalidSubmission(Exception):
    """The entry cannot be graded; the message is the reason given to the student."""


@dataclass(frozen=True)
class Entry:
    """One student's submission; ``problem`` (found by ``discover``) makes it invalid."""

    id: str
    path: Path
    problem: str | None = None
    note: str | None = None

    @property
    def name(self) -> str:
        """The entry's file name, printable."""
        return printable(self.path.name)

    @property
    def key(self) -> str:
        """A digest of the entry's raw name: which entry a results folder belongs to."""
        return name_digest(self.path.name, 16)


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


def name_digest(name: str, digits: int = ID_HASH_DIGITS) -> str:
    """Hex digits of the SHA-256 of ``name``'s raw bytes (as the file system holds them)."""
    return hashlib.sha256(os.fsencode(name)).hexdigest()[:digits]


def discover(folder: Path, skip: Path | None = None) -> list[Entry]:
    """The entries of ``folder`` (folders, ``.zip`` and ``.ipynb`` files), sorted by id.

    ``skip`` is a folder that is not a student's (the results, when kept inside ``folder``).
    Every id is distinct and depends only on the names in ``folder`` (see the module
    docstring); symbolic links and other archives come back with a ``problem``.
    """
    skipped = Path(skip).resolve() if skip is not None else None
    found: list[tuple[str, Path, str | None]] = []  # (id wanted, path, problem)
    wanted: set[str] = set()
    for path in sorted(Path(folder).iterdir()):
        name = path.name
        if name.startswith(".") or name in IGNORED_FOLDERS or _resolves_to(path, skipped):
            continue
        stem, problem = _entry_kind(path)
        if stem is None:
            continue
        ident = printable(stem)
        if ident in wanted or ident in ("", ".", ".."):
            ident = printable(name)  # alice/ and alice.zip: the zip keeps its suffix
        wanted.add(ident)
        if ident in CLASS_FILES:  # RESULTS/gradebook.csv must stay the gradebook
            ident = f"student-{ident}"
        found.append((ident, path, problem))
    return sorted(_distinct(found), key=lambda entry: entry.id)


def _resolves_to(path: Path, folder: Path | None) -> bool:
    try:
        return folder is not None and path.resolve() == folder
    except (OSError, RuntimeError):  # a symbolic link loop
        return False


def _entry_kind(path: Path) -> tuple[str | None, str | None]:
    """``(stem, problem)`` for an entry; ``(None, None)`` for a stray file."""
    name, lower = path.name, path.name.lower()
    if path.is_symlink():
        stem = next((name[:-len(s)] for s in ENTRY_SUFFIXES if lower.endswith(s)), name)
        return stem, f"{printable(name)} is a symbolic link, which is not followed (copy the submission itself in)"
    if path.is_dir():
        return name, None
    if not path.is_file():
        return None, None
    if lower.endswith(ENTRY_SUFFIXES):
        return path.stem, None
    other = next((s for s in sorted(OTHER_ARCHIVES, key=len, reverse=True) if lower.endswith(s)), None)
    if other and len(name) > len(other):
        return name[:-len(other)], (f"{printable(name)} is a {other} archive: only folders, .zip and .ipynb "
                                    "files are graded (send a .zip)")
    return None, None


def _distinct(found: list[tuple[str, Path, str | None]]) -> list[Entry]:
    """Entries with distinct ids: of those wanting one id, the entry named exactly so keeps
    it, the others get a suffix from their raw name (longer digests if that still collides)."""
    by_id: dict[str, list[tuple[Path, str | None]]] = {}
    for ident, path, problem in found:
        by_id.setdefault(_fit(ident, path.name), []).append((path, problem))
    final: dict[Path, tuple[str, str | None]] = {}
    for ident, claimants in by_id.items():
        for path, _ in claimants:
            keeps = len(claimants) == 1 or path.name == ident
            final[path] = (ident, None) if keeps else ("", ident)
    taken = {ident for ident, clash in final.values() if not clash}
    entries = []
    for ident, path, problem in found:
        chosen, clash = final[path]
        note = None
        if clash is not None:
            for digits in (ID_HASH_DIGITS, 16, 64):
                chosen = _fit(f"{clash}-{name_digest(path.name, digits)}", path.name)
                if chosen not in taken:
                    break
            taken.add(chosen)
            note = (f"this entry ({printable(path.name)}) has a name that prints like another entry's, "
                    f"so its id is {chosen}")
        entries.append(Entry(chosen, path, problem, note))
    return entries


def _fit(ident: str, name: str) -> str:
    """``ident``, cut to ``MAX_ID_BYTES`` (UTF-8) with a digest of ``name`` if it is longer."""
    if len(ident.encode()) <= MAX_ID_BYTES:
        return ident
    room = MAX_ID_BYTES - ID_HASH_DIGITS - 1
    return f"{ident.encode()[:room].decode('utf-8', 'ignore')}-{name_digest(name)}"


def stage(entry: Entry, dest: Path) -> list[str]:
    """Write ``entry``'s exercise modules into ``dest``; return notes for the student.

    Raises ``InvalidSubmission`` when nothing gradable is found or a limit is broken.
    """
    if entry.problem:
        raise InvalidSubmission(entry.problem)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        files = list(_files(entry.path))
    except OSError as error:
        raise InvalidSubmission(f"{entry.name} cannot be read ({error.strerror or error})") from None
    notes: list[str] = [entry.note] if entry.note else []
    chosen = _choose_modules(files, notes)
    for name, found in chosen.items():
        try:
            data = found.read(MAX_MODULE_BYTES + 1)
        except OSError as error:
            raise InvalidSubmission(f"{'/'.join(found.parts)} cannot be read ({error.strerror or error})") from None
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
        from grader.notebook.extract import extract_modules
    except ImportError:
        raise InvalidSubmission("a notebook submission, but this grader cannot read notebooks "
                                "(grader.notebook.extract is missing)") from None
    try:
        data = notebooks[0].read(MAX_NOTEBOOK_BYTES + 1)
    except OSError as error:
        raise InvalidSubmission(f"{'/'.join(notebooks[0].parts)} cannot be read ({error.strerror or error})") from None
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


__all__ = ["Entry", "InvalidSubmission", "discover", "stage", "printable", "name_digest"]
