"""Cache of accuracy-bar runs, so re-grading skips training that cannot have changed.

An entry is stored under a key of everything the run depends on: the bar's settings,
the seed, the grader's version and bar code, TensorFlow's and Keras's versions, and
the content of the student's modules the run uses. Each entry also lists every student
file that was imported during the run with its SHA-256; it is reused only if all of
them are still byte-identical. Entries hold the outcome as the grader computed it
(failures too), so a cache can only replay a verdict, never turn a fail into a pass.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from grader import __version__
from grader.report import write_json_atomic

#: Grader files whose change must invalidate every cached run.
BAR_CODE = ("bars.py", "probes/bars.py", "train_cache.py")


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
