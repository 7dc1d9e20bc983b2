"""The grader's layout holds: import-linter's contracts (``pyproject.toml``) and the folder maps.

The contracts say which side of the student-code boundary each folder is on (probes and
isolation import nothing of scoring, layers, no cycles). A copy of the package with one
forbidden import shows that the contracts are read and enforced, not merely present.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
FOLDERS = ("checking", "isolation", "probes", "notebook", "authoring", "bulk", "feedback_page")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
                          cwd=root, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})


def test_the_import_contracts_are_kept():
    done = lint_imports(REPO)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


@pytest.mark.parametrize("folder, line", [
    ("probes/common.py", "from grader.checking import expectations  # a probe reaching the grading side"),
    ("isolation/frames.py", "import grader.bulk.gradebook  # the boundary importing a tool"),
    ("checking/oracles.py", "import grader.plugin  # a layer importing the one above it"),
])
def test_a_forbidden_import_breaks_a_contract(tmp_path, folder, line):
    shutil.copytree(REPO / "grader", tmp_path / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    module = tmp_path / "grader" / folder
    module.write_text(module.read_text() + f"\n{line}\n")
    done = lint_imports(tmp_path)
    assert done.returncode != 0 and "BROKEN" in done.stdout, done.stdout[-3000:]


@pytest.mark.parametrize("folder", FOLDERS)
def test_each_folder_maps_its_modules(folder):
    """A folder's ``__init__`` docstring names every module in it, so the map stays true."""
    package = REPO / "grader" / folder
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    modules = sorted(path.stem for path in package.glob("*.py") if path.stem != "__init__")
    missing = [name for name in modules if f"``{name}``" not in doc]
    assert not missing, f"grader/{folder}/__init__.py does not describe {missing}"


def test_the_readme_maps_every_folder():
    readme = (REPO / "README.md").read_text()
    missing = [folder for folder in FOLDERS if f"`grader/{folder}/`" not in readme]
    assert not missing, f"README's layout table lacks {missing}"
