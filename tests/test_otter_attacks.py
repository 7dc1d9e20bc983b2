"""Submissions that try to forge their otter score: each must get what its stubs earn, 0.

Built from the committed (all-stub) student notebook; graded for real, with ``otter run``
on a freshly built autograder zip and the real grader (``--isolate``). See
``grader/notebook/otter_plugin.py`` for why none of them can work: otter never executes a cell of
the submission, and the score otter writes is the grader's, recomputed in otter's own
process, which no submission code ever ran in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from tests.test_grading import RUBRIC
from tests.test_notebooks import (
    exercise_module,
    otter_run,
    otter_scores,
    python_export,
    read_notebook,
)

#: What every attack may earn: the stubs' score.
ZERO = {name: 0 for name in RUBRIC}

#: A cell without the ``otter_ignore`` tag: every case of the otter test files passes.
REBIND_CELL = '''\
# Not an exercise cell: make every otter case pass, whatever the grader said.
import sys as _sys
import grader.notebook.otter_cases as _nc

_nc.otter_case = lambda *args, **kwargs: None
_sys.modules["grader.notebook.otter_cases"].otter_case = _nc.otter_case
'''

#: Added to the first activations exercise cell (part of the graded module): when the
#: process that imported the module exits, rewrite every results file in reach to full marks.
ATEXIT_CODE = '''

import atexit as _atexit


def _full_marks():
    import glob, json, sys
    paths = []
    if "--results" in sys.argv:
        paths.append(sys.argv[sys.argv.index("--results") + 1])
    for pattern in ("/tmp/*/autograder/results/results.json", "/autograder/results/results.json",
                    "/tmp/*/results.json", "/tmp/*/*/results.json"):
        paths += glob.glob(pattern)
    for path in paths:
        try:
            with open(path) as handle:
                data = json.load(handle)
            for test in data.get("tests", []):
                if "max_score" in test:
                    test["score"] = test["max_score"]
                test["status"] = "passed"
            data["score"] = sum(test.get("max_score", 0) for test in data.get("tests", []))
            with open(path, "w") as handle:
                json.dump(data, handle)
        except Exception:
            pass


_atexit.register(_full_marks)
'''

#: The other ways a cell could try to reach the process that decides the score.
KITCHEN_SINK_CELL = '''\
# Not an exercise cell: patch everything otter and the grader use, and rewrite files.
import builtins, glob, json, os, sys, types

fake = types.ModuleType("grader.notebook.otter_cases")
fake.otter_case = lambda *args, **kwargs: None
sys.modules["grader.notebook.otter_cases"] = fake
json.loads = lambda *args, **kwargs: {"tests": []}
_open = builtins.open
builtins.open = lambda *args, **kwargs: _open(*args, **kwargs)
for test_file in glob.glob("tests/*.py") + glob.glob("../source/tests/*.py"):
    with _open(test_file) as handle:
        text = handle.read()
    with _open(test_file, "w") as handle:
        handle.write(text.replace("otter_case(env,", "(lambda *a: None)("))
os.makedirs("grader", exist_ok=True)
with _open("grader/notebook/otter_cases.py", "a") as handle:
    handle.write("\\notter_case = lambda *args, **kwargs: None\\n")
with _open("results.json", "w") as handle:
    json.dump({"score": 100}, handle)
'''


def student_cells():
    return read_notebook("student")


def with_cell(source: str, path: Path) -> Path:
    """The student notebook with one extra, untagged code cell right after the setup cell."""
    notebook = student_cells()
    setup = next(i for i, cell in enumerate(notebook.cells) if "setup" in cell.metadata.get("tags", []))
    notebook.cells.insert(setup + 1, nbformat.v4.new_code_cell(source))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def rebinding_notebook(path: Path) -> Path:
    return with_cell(REBIND_CELL, path)


def atexit_notebook(path: Path) -> Path:
    """The student notebook whose activations module registers the results forger."""
    notebook = student_cells()
    first = next(cell for cell in notebook.cells if exercise_module(cell) == "activations")
    first.source += ATEXIT_CODE
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


class _Unpickled:
    """Pickled into a ``.OTTER_LOG``: otter unpickles that file in its own process."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"import pathlib; pathlib.Path({str(self.marker)!r}).write_text('unpickled')",)


def uploaded_files_zip(path: Path, marker: Path) -> Path:
    """A zip as a student could upload it: a patching notebook, a fake grader, a log, numpy.py."""
    import pickle

    notebook = with_cell(KITCHEN_SINK_CELL + "\n" + REBIND_CELL, path.parent / "notebook" / "mnist_course.ipynb")
    fake = "def otter_case(*args, **kwargs):\n    pass\n"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(notebook, "mnist_course.ipynb")
        archive.writestr("grader/__init__.py", "")
        archive.writestr("grader/notebook/otter_cases.py", fake)
        archive.writestr("tests/activations.py", "OK_FORMAT = False\nname = 'activations'\n")
        archive.writestr(".OTTER_LOG", pickle.dumps(_Unpickled(marker)))
        archive.writestr("numpy.py", f"import pathlib\npathlib.Path({str(marker)!r}).write_text('imported')\n")
    return path


@pytest.fixture(scope="module")
def autograder(tmp_path_factory) -> Path:
    from grader.authoring.otter_build import build_autograder

    return build_autograder(tmp_path_factory.mktemp("autograder") / "autograder.zip")


def assert_stub_score(results: dict) -> None:
    assert otter_scores(results) == ZERO, otter_scores(results)
    assert results.get("score", 0) == 0


@pytest.mark.slow
def test_otter_ignores_a_cell_that_rebinds_otter_case(autograder, tmp_path, shared_cache):
    submission = rebinding_notebook(tmp_path / "submission" / "mnist_course.ipynb")
    assert_stub_score(otter_run(autograder, submission, tmp_path / "out", shared_cache))


@pytest.mark.slow
def test_otter_ignores_the_same_line_in_a_python_export(autograder, tmp_path, shared_cache):
    notebook = rebinding_notebook(tmp_path / "notebook" / "mnist_course.ipynb")
    script = python_export(notebook, tmp_path / "submission" / "mnist_course.py")
    assert "_nc.otter_case = lambda" in script.read_text()
    assert_stub_score(otter_run(autograder, script, tmp_path / "out", shared_cache))


@pytest.mark.slow
def test_an_atexit_handler_in_an_exercise_cannot_rewrite_results(autograder, tmp_path, shared_cache):
    submission = atexit_notebook(tmp_path / "submission" / "mnist_course.ipynb")
    assert_stub_score(otter_run(autograder, submission, tmp_path / "out", shared_cache))


@pytest.mark.slow
def test_patching_cells_and_files_uploaded_with_the_notebook_change_nothing(autograder, tmp_path, shared_cache):
    """sys.modules, json, open and test files patched; a grader/, tests/, numpy.py and .OTTER_LOG uploaded."""
    marker = tmp_path / "reached-otter"
    submission = uploaded_files_zip(tmp_path / "submission.zip", marker)
    assert_stub_score(otter_run(autograder, submission, tmp_path / "out", shared_cache))
    assert not marker.exists(), marker.read_text()


@pytest.mark.slow
def test_gradescope_entry_point_imports_the_plugin_from_the_zip(autograder, tmp_path, shared_cache):
    """``run_otter.py`` as Gradescope runs it, in a copy of /autograder, on the rebinding notebook."""
    root = tmp_path / "autograder"
    for folder in ("source", "submission", "results"):
        (root / folder).mkdir(parents=True)
    (root / "submission_metadata.json").write_text("{}")
    with zipfile.ZipFile(autograder) as archive:
        archive.extractall(root / "source")
    run_otter = root / "source" / "run_otter.py"
    text = run_otter.read_text()
    assert 'run_autograder("/autograder")' in text
    run_otter.write_text(text.replace('run_autograder("/autograder")', f"run_autograder({str(root)!r})"))
    rebinding_notebook(root / "submission" / "mnist_course.ipynb")
    env = {**os.environ, "COURSE_TRAIN_CACHE": str(shared_cache)}
    env.pop("COURSE_QUICK", None)
    done = subprocess.run([sys.executable, str(run_otter)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=1800)
    assert (root / "results" / "results.json").is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    assert_stub_score(json.loads((root / "results" / "results.json").read_text()))
    assert f"otter's process imported the plugin from {root / 'source' / 'files' / 'grader'}" in done.stdout
    assert "its results agreed with the grader's" in done.stdout
    assert sorted(path.name for path in (root / "submission").iterdir()) == ["__init__.py", "data_cache", "grader",
                                                                            "tests"]


def test_the_kernel_check_accepts_otter_s_cells_only():
    from otter.execute.preprocessor import EXPORT_CELL_SOURCE, INIT_CELL_SOURCE

    from grader.notebook.otter_cases import PLACEHOLDER_CELL, foreign_cells

    init = INIT_CELL_SOURCE.format(notebook_name="notebook_ab12", test_dir="./tests",
                                   logging_server_host="localhost", logging_server_port=4242)
    export = EXPORT_CELL_SOURCE.format(tests_loop_var="t_x1", tests_glob_json='["./tests/activations.py"]',
                                       results_path="/tmp/tmpab.pkl")
    path = 'import sys\nsys.path.append(r"/tmp/x/autograder/submission")'
    clean = ["", init + "\n", path, PLACEHOLDER_CELL, export]
    assert foreign_cells({"In": clean}) == []
    assert foreign_cells({"In": clean[:3] + [REBIND_CELL] + clean[3:]}) == [REBIND_CELL.strip()]
    assert foreign_cells({"In": [cell for cell in clean if cell != PLACEHOLDER_CELL]})
    assert foreign_cells({"In": clean[:-1] + [export + "\nimport os"]})  # a cell that starts like otter's
    assert foreign_cells({}) and foreign_cells({"In": "not a list"})


def test_a_case_fails_without_the_plugin_s_verdict(monkeypatch):
    from grader.notebook.otter_cases import VERDICT_ENV, otter_case, use_verdict

    monkeypatch.delenv(VERDICT_ENV, raising=False)
    with pytest.raises(AssertionError, match="ran in the grading kernel"):
        otter_case({"In": ["", REBIND_CELL]}, "activations", "anything")
    verdict = {"error": None, "tests": [{"name": "activations: relu", "status": "passed", "output": ""},
                                        {"name": "activations: softmax", "status": "failed", "output": "softmax: no"}]}
    use_verdict(verdict)
    try:
        otter_case({}, "activations", "relu")
        with pytest.raises(AssertionError, match="softmax: no"):
            otter_case({}, "activations", "softmax")
        with pytest.raises(AssertionError, match="did not report"):
            otter_case({}, "activations", "missing")
    finally:
        use_verdict(None)
