"""Cache of accuracy-bar runs, so re-grading skips training that cannot have changed.

An entry is stored under a key of everything the run depends on: the bar's settings,
the seed, the grader's version and bar code, TensorFlow's and Keras's versions, and
the content of the student's modules the run uses. Each entry also lists every student
file that was imported during the run with its SHA-256; it is reused only if all of
them are still byte-identical. Entries hold the outcome as the grader computed it
(failures too), so a cache can only replay a verdict, never turn a fail into a pass.

``claim(key)`` serialises runs of one key across processes (``course grade`` grades
students in parallel, and many hand in the same model): the second waits for the
first's entry instead of training the same code again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

from grader import __version__
from grader.atomic import write_json_atomic

#: Grader files whose change must invalidate every cached run.
BAR_CODE = ("bars.py", "probes/bars.py", "train_cache.py")
#: Seconds to wait for another process training the same code (a CNN bar takes ~30-60 s).
CLAIM_PATIENCE = 300.0


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"


def environment_fingerprint() -> dict:
    import keras

    from grader.tf_runtime import tf

    grader_dir = Path(__file__).parent
    return {
        "grader": __version__,
        "bar_code": {name: file_digest(grader_dir / name) for name in BAR_CODE},
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


class TrainCache:
    """JSON files in ``folder``, one per run key."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def key(self, settings: dict, student_folder: Path, modules: tuple[str, ...]) -> str:
        material = {
            "settings": settings,
            "environment": environment_fingerprint(),
            "modules": {name: file_digest(Path(student_folder) / f"{name}.py") for name in modules},
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

    def load(self, key: str, student_folder: Path) -> dict | None:
        path = self.folder / f"{key}.json"
        try:
            entry = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        dependencies = entry.get("dependencies", {})
        if not isinstance(dependencies, dict) or any(
            file_digest(Path(student_folder) / name) != digest for name, digest in dependencies.items()
        ):
            return None
        return entry.get("outcome")

    def store(self, key: str, student_folder: Path, outcome: dict, dependencies: list[str]) -> None:
        entry = {
            "outcome": outcome,
            "dependencies": {name: file_digest(Path(student_folder) / name) for name in dependencies},
        }
        write_json_atomic(self.folder / f"{key}.json", entry)
