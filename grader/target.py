"""Import the exercise modules of one folder (``exercises/``, ``solutions/``, a submission).

The folder is put first on ``sys.path`` so that its modules can import each other, and
each module is imported by file path under its plain name (``convolution``...). One
``Target`` per process: probes always see the same module objects.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from grader.paths import EXERCISE_MODULES, EXERCISES_DIR, SOLUTIONS_DIR

_ALIASES = {"exercises": EXERCISES_DIR, "solutions": SOLUTIONS_DIR}


class ModuleMissing(ModuleNotFoundError):
    """The target folder has no file for an exercise module."""


def resolve_target(spec: str | Path | None) -> Path:
    """``None``/"exercises" -> exercises/, "solutions" -> solutions/, else a folder path."""
    if spec is None:
        return EXERCISES_DIR
    folder = _ALIASES.get(str(spec), Path(spec)).resolve()
    if not folder.is_dir():
        raise NotADirectoryError(f"grading target {spec!r} is not a folder")
    return folder


class Target:
    """Lazily imports exercise modules from ``folder``."""

    def __init__(self, folder: Path):
        self.folder = Path(folder).resolve()
        self._modules: dict[str, ModuleType] = {}
        self._failures: dict[str, BaseException] = {}

    def file_of(self, name: str) -> Path:
        return self.folder / f"{name}.py"

    def student_files(self) -> tuple[str, ...]:
        """Paths of the target's modules, to keep only student frames in tracebacks."""
        return tuple(str(self.file_of(name)) for name in EXERCISE_MODULES)

    def module(self, name: str) -> ModuleType:
        """The student's module ``name``; re-raises its import error on every call."""
        if name not in EXERCISE_MODULES:
            raise ValueError(f"{name!r} is not an exercise module")
        if name in self._modules:
            return self._modules[name]
        if name in self._failures:
            raise self._failures[name]
        try:
            module = self._import(name)
        except BaseException as error:  # SystemExit at import time included
            self._failures[name] = error
            raise
        self._modules[name] = module
        return module

    def _import(self, name: str) -> ModuleType:
        path = self.file_of(name)
        if not path.is_file():
            raise ModuleMissing(f"{path.name} is missing from {self.folder}")
        folder = str(self.folder)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(path):
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return module
