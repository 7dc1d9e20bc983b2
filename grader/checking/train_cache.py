"""Cache of accuracy-bar runs, so re-grading skips training that cannot have changed.

An entry is stored under a key of everything the run depends on: the bar's settings,
the seed, the grader's version and bar code, TensorFlow's and Keras's versions, and
the bytes of the student modules the run is given (``grader.checking.bar_scoring.bar_modules``,
staged by ``grader.checking.normalized_source.staged_files``). Those bytes are each
module's *canonical copy* (its token stream rendered in one fixed layout: comments, blank
lines and spacing gone, every name, number, string and docstring kept), or the raw
bytes of a file that does not tokenize or compile. So submissions that differ only in
formatting share one run, and the key digests exactly the bytes the run's worker reads.

Why sharing cannot poison anyone: under ``--isolate`` the run's worker holds those bytes
and nothing else of the submission, so two submissions with one key give their workers
byte-identical files; whatever a module does with its own source (reads ``__file__``, its
line numbers, its comments) it sees the same text in both. Equal inputs, same run:
nothing the worker reports (such as a list of files it imported) is consulted. In-process
(a student's own machine) the run reads the student's own files and can also import their
other modules, neither in the key: that cache is the student's own. The argument in full
is in ``normalized_source``'s docstring.

Entries hold the outcome as the grading process computed it (failures too), so a cache
can only replay a verdict, never turn a fail into a pass. An entry is written once and
never overwritten (``os.link`` of a complete file: of two concurrent writers of one key,
the first wins and the second keeps the first's entry).

``claim(key)`` serialises runs of one key across processes (``course grade`` grades
students in parallel, and many hand in the same model): the second waits for the
first's entry instead of training the same code again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import importlib.metadata
import json
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from grader import __version__

#: Grader files (under ``grader/``) whose change must invalidate every cached run: the bar
#: procedure and the outcome it stores, the training probes and their step loop, the lesson's
#: network, this cache, the canonical copies the runs are given and keyed by.
BAR_CODE = ("checking/bar_scoring.py", "probes/bars.py", "probes/step_loop.py", "lesson_networks.py",
            "checking/train_cache.py", "checking/normalized_source.py")
#: Seconds to wait for another process training the same code (a CNN bar takes ~30-60 s).
CLAIM_PATIENCE = 300.0


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"


def environment_fingerprint() -> dict:
    """What of the installation a run depends on; the same in every process of one
    installation, so ``course grade`` computes keys without importing TensorFlow."""
    grader_dir = Path(__file__).resolve().parents[1]
    return {
        "grader": __version__,
        "bar_code": {name: file_digest(grader_dir / name) for name in BAR_CODE},
        "tensorflow": _version("tensorflow", "grader.tf_runtime", "tf"),
        "keras": _version("keras", "keras"),
    }


def _version(distribution: str, module: str, attribute: str = "") -> str:
    """The installed version of ``distribution`` (as ``module.__version__`` says it: the
    same string for a release), importing ``module`` only if no package metadata names it
    (TensorFlow installed as ``tensorflow-cpu``, say)."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        imported = importlib.import_module(module)
        return (getattr(imported, attribute) if attribute else imported).__version__


class TrainCache:
    """JSON files in ``folder``, one per run key."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def key(self, settings: dict, files: Mapping[str, bytes], modules: tuple[str, ...]) -> str:
        """The key of a run of ``modules`` given ``files`` (file name -> the bytes staged)."""
        staged = {name: files.get(f"{name}.py") for name in modules}
        material = {
            "settings": settings,
            "environment": environment_fingerprint(),
            "modules": {name: "missing" if data is None else hashlib.sha256(data).hexdigest()
                        for name, data in staged.items()},
        }
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()

    @contextlib.contextmanager
    def claim(self, key: str, patience: float = CLAIM_PATIENCE) -> Iterator[None]:
        """Hold the run of ``key`` (an advisory file lock, released even if the process dies).

        Waits at most ``patience`` seconds, then runs unclaimed, so a stuck run elsewhere
        never costs this one its time limit; no lock either if the folder is read-only.
        """
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle = open(self.folder / f"{key}.lock", "a")
        except OSError:
            yield
            return
        with handle:
            deadline = time.monotonic() + patience
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.5)
            yield

    def load(self, key: str) -> dict | None:
        """The stored outcome of ``key``, or None (no entry, or not one this cache wrote)."""
        try:
            entry = json.loads((self.folder / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key or not isinstance(entry.get("outcome"), dict):
            return None
        return entry["outcome"]

    def store(self, key: str, outcome: dict) -> bool:
        """Write ``key``'s entry unless one exists; True if this call wrote it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"{key}.json"
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w") as stream:
                json.dump({"key": key, "outcome": outcome}, stream, sort_keys=True)
                stream.flush()
                os.fsync(stream.fileno())
            os.link(temporary, final)  # fails if the entry exists: the first writer wins
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(temporary)
