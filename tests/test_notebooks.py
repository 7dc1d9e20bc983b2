"""The notebook track and the otter autograder, for real: nbclient kernels, `otter run`.

The slow tests share one training cache (``shared_cache``): the accuracy bars train once
per distinct code content, and the instructor notebook's code is byte-identical to
``solutions/``, so it reuses the bars of ``tests/test_grading.py`` in the same session.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.authoring.notebooks import (
    KINDS,
    NotebookBuildError,
    module_parts,
    notebook_path,
    notebooks_up_to_date,
)
from grader.authoring.release import leaked_solution_lines
from grader.authoring.solution_markers import GENERATED_NOTE
from grader.notebook.extract import (
    MARKER,
    extract_modules,
    modules_from_cells,
    read_modules,
)
from grader.notebook.otter_cases import WITHHELD_FAILURE
from grader.paths import EXERCISE_MODULES, EXERCISES_DIR, REPO_ROOT, SOLUTIONS_DIR
from tests.conftest import TF_LOG, run_grader
from tests.test_grading import RUBRIC

#: The softmax bug of the partly correct notebook: no max shift, so huge logits overflow.
STABLE_SHIFT = "np.max(logits, axis=axis, keepdims=True)"


def exercise_module(cell) -> str | None:
    """The module an exercise cell belongs to (from its marker line), else None."""
    match = MARKER.match(cell.source.split("\n", 1)[0]) if cell.cell_type == "code" else None
    return match["module"] if match else None


def read_notebook(kind: str):
    return nbformat.read(notebook_path(kind), as_version=4)


def partly_correct_notebook(path: Path) -> Path:
    """The student notebook with activations (buggy softmax), convolution and keras_model done."""
    student, instructor = read_notebook("student"), read_notebook("instructor")
    assert len(student.cells) == len(instructor.cells)
    for mine, reference in zip(student.cells, instructor.cells):
        if exercise_module(mine) in ("activations", "convolution", "keras_model"):
            mine.source = reference.source
        if exercise_module(mine) == "activations" and STABLE_SHIFT in mine.source:
            mine.source = mine.source.replace(STABLE_SHIFT, "0")
    nbformat.write(student, path)
    return path


def python_export(notebook: Path, path: Path) -> Path:
    """The notebook as Jupyter's "Download as Python (.py)" writes it."""
    from nbconvert import PythonExporter

    text, _ = PythonExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- the build -----------------------------------------------------------------------------

def test_committed_notebooks_equal_a_fresh_build():
    assert notebooks_up_to_date() == [], "run `course notebooks` and commit the result"


def test_student_notebook_has_stubs_and_no_solution_code():
    assert leaked_solution_lines(notebook_path("student").parent) == []
    assert leaked_solution_lines(notebook_path("instructor").parent), "the leak check must see reference code"
    student = read_notebook("student")
    text = "\n".join(cell.source for cell in student.cells)
    assert "BEGIN SOLUTION" not in text and "not implemented yet" in text
    assert student.metadata.kernelspec.name == "python3"
    exercise_cells = [cell for cell in student.cells if exercise_module(cell)]
    assert {exercise_module(cell) for cell in exercise_cells} == set(EXERCISE_MODULES)
    assert all(cell.metadata.tags == ["exercise", "otter_ignore"] for cell in exercise_cells)
    checks = [cell.source for cell in student.cells if "check" in cell.metadata.get("tags", [])]
    assert checks == [f"check({name!r})" for name in EXERCISE_MODULES] + ["check()"]
    # otter runs no cell: the grade comes from the grader's run on the extracted code.
    assert all("otter_ignore" in cell.metadata.tags for cell in student.cells if cell.cell_type == "code")


def test_extracting_the_notebooks_gives_back_solutions_and_exercises(tmp_path):
    for kind, folder in (("instructor", tmp_path / "instructor"), ("student", tmp_path / "student")):
        assert extract_modules(notebook_path(kind), folder) == list(EXERCISE_MODULES)
    for name in EXERCISE_MODULES:
        assert (tmp_path / "instructor" / f"{name}.py").read_text() == (SOLUTIONS_DIR / f"{name}.py").read_text()
        stub = (EXERCISES_DIR / f"{name}.py").read_text().removeprefix(GENERATED_NOTE)
        assert (tmp_path / "student" / f"{name}.py").read_text() == stub
    export = python_export(notebook_path("instructor"), tmp_path / "export.py")
    assert read_modules(export) == read_modules(notebook_path("instructor"))


def test_extraction_rules():
    cells = [
        "x = 1  # not an exercise cell",
        "# [activations.py 2/3]\ndef relu(x):\n    return 1\n",
        "# [activations.py 1/3]\nimport numpy as np\n%time y = 2\n",
        "# [activations.py 2/3]\ndef relu(x):\n    return 2\n\n\n# [activations.py 3/3]\ndef softmax(z):\n    return z",
        "# [unknown.py 1/1]\nprint('ignored')",
    ]
    modules = modules_from_cells(cells)
    assert list(modules) == ["activations"]
    assert modules["activations"] == (
        "import numpy as np\n# %time y = 2\n\n\ndef relu(x):\n    return 2\n\n\ndef softmax(z):\n    return z\n"
    )


def test_a_module_file_and_bad_files(tmp_path):
    single = tmp_path / "pooling.py"
    single.write_text("def max_pool2d(image):\n    return image\n")
    assert extract_modules(single, tmp_path / "out") == ["pooling"]
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="expected a .ipynb"):
        extract_modules(tmp_path / "notes.txt", tmp_path / "out")
    (tmp_path / "broken.ipynb").write_text("{not json")
    with pytest.raises(ValueError, match="not a readable notebook"):
        extract_modules(tmp_path / "broken.ipynb", tmp_path / "out")


def test_a_module_that_cannot_round_trip_is_rejected():
    with pytest.raises(NotebookBuildError, match="two blank lines"):
        module_parts("import numpy\n\ndef f():\n    pass\n", "bad.py")


def test_course_commands(tmp_path):
    from grader.cli import main

    assert main(["notebooks", "--check"]) == 0
    assert main(["extract", str(notebook_path("student")), str(tmp_path / "modules")]) == 0
    assert sorted(path.stem for path in (tmp_path / "modules").glob("*.py")) == sorted(EXERCISE_MODULES)


# --- the notebooks run -----------------------------------------------------------------------

def execute(notebook, cwd: Path, timeout: int = 1200):
    from nbclient import NotebookClient

    NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return notebook


def stdout_of(cell) -> str:
    return "".join(output.get("text", "") for output in cell.get("outputs", []) if output.output_type == "stream"
                   and output.name == "stdout")


@pytest.mark.slow
def test_instructor_notebook_runs_top_to_bottom_in_quick_mode(monkeypatch, shared_cache):
    monkeypatch.setenv("COURSE_QUICK", "1")
    monkeypatch.setenv("COURSE_TRAIN_CACHE", str(shared_cache))
    notebook = execute(read_notebook("instructor"), notebook_path("instructor").parent)
    errors = [(cell.source[:60], output.ename, output.evalue) for cell in notebook.cells
              for output in cell.get("outputs", []) if output.output_type == "error"]
    assert errors == []
    checks = {cell.source: stdout_of(cell) for cell in notebook.cells if "check" in cell.metadata.get("tags", [])}
    for name, points in RUBRIC.items():
        assert f"{name}: {points} / {points} points, " in checks[f"check({name!r})"], checks[f"check({name!r})"]
    assert re.search(r"TOTAL\s+\|\s+100 / 100", checks["check()"]), checks["check()"]
    assert "all exercises: 100 / 100 points, " in checks["check()"] and "PASS" not in checks["check()"]
    assert "Training your model, training, keras_model code for the accuracy bars" in checks["check()"]
    pictures = sum("image/png" in output.get("data", {}) for cell in notebook.cells
                   for output in cell.get("outputs", []))
    assert pictures >= 8
    printed = "".join(stdout_of(cell) for cell in notebook.cells)
    assert "Epoch 2: loss" in printed and "(quick mode)" in printed
    streams = "".join(output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", [])
                      if output.output_type == "stream")
    assert not TF_LOG.search(streams), TF_LOG.search(streams).group(0)  # stderr included


@pytest.mark.slow
def test_check_cells_on_untouched_stubs_say_not_implemented(tmp_path):
    student = read_notebook("student")
    setup = next(cell for cell in student.cells if "setup" in cell.metadata.get("tags", []))
    cells = [setup] + [cell for cell in student.cells if exercise_module(cell) == "activations"]
    cells += [nbformat.v4.new_code_cell('check("activations")'), nbformat.v4.new_code_cell('check("pooling")')]
    notebook = execute(nbformat.v4.new_notebook(cells=cells, metadata=student.metadata), notebook_path("student").parent)
    activations, pooling = stdout_of(notebook.cells[-2]), stdout_of(notebook.cells[-1])
    # 7 checks: the 6 of test_activations.py and the withheld one (the instructor's grader runs it)
    assert "activations: 0 / 8 points, 0 of 7 checks passed" in activations
    assert "not implemented yet: relu, softmax (7 checks, 8 points)" in activations
    assert "Traceback" not in activations
    assert "Not run yet in this notebook: pooling.py" in pooling


# --- the otter autograder ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def autograder(tmp_path_factory) -> Path:
    from grader.authoring.otter_build import build_autograder

    return build_autograder(tmp_path_factory.mktemp("autograder") / "autograder.zip")


def offline() -> list[str]:
    """Run a command without network, loopback only (if this machine allows namespaces)."""
    if shutil.which("unshare") and shutil.which("ip"):
        probe = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True)
        if probe.returncode == 0:
            return ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']
    return []


def otter_run(autograder: Path, submission: Path, out: Path, cache: Path) -> dict:
    """``otter run`` as an instructor would, offline; returns results.json (its output: ``otter-stdout.txt``)."""
    out.mkdir(parents=True, exist_ok=True)
    command = [*offline(), sys.executable, "-m", "otter", "run", "-a", str(autograder), "-o", str(out),
               "--no-logo", str(submission)]
    env = {**os.environ, "COURSE_TRAIN_CACHE": str(cache)}
    env.pop("COURSE_QUICK", None)
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    (out / "otter-stdout.txt").write_text(done.stdout)
    assert done.returncode == 0 and (out / "results.json").is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((out / "results.json").read_text())


def otter_scores(results: dict) -> dict[str, float]:
    return {test["name"]: test["score"] for test in results["tests"] if "score" in test}


def test_autograder_zip_is_deterministic_and_carries_the_rubric(autograder, tmp_path):
    from grader.authoring.otter_build import build_autograder

    again = build_autograder(tmp_path / "again.zip")
    assert again.read_bytes() == autograder.read_bytes()
    with zipfile.ZipFile(autograder) as archive:
        names = archive.namelist()
        assert names == sorted(names) and "files/data_cache/mnist.npz" in names
        assert "files/grader/plugin.py" in names and not any("solutions" in name for name in names)
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        for name in EXERCISE_MODULES:
            test_file = archive.read(f"tests/{name}.py").decode()
            points = [float(p) for p in re.findall(r"points=([\d.]+)\)", test_file)]
            assert sum(points) == RUBRIC[name]
            # Each case only asks the grader: one otter_case call per case, no assertion of its own.
            assert test_file.count("otter_case(env,") == len(points) and "assert" not in test_file
        # otter runs the plugin that keeps the submission from running; Gradescope can import it.
        assert json.loads(archive.read("otter_config.json"))["plugins"] == ["grader.notebook.otter_plugin.CoursePlugin"]
        assert "files/grader/notebook/otter_plugin.py" in names
        run_otter = archive.read("run_otter.py").decode()
        assert '"files"))' in run_otter and run_otter.index("_sys.path.insert") < run_otter.index("from otter")
        assert archive.read("setup.sh").decode().endswith("\nchmod o+x /root\n")


@pytest.mark.slow
def test_otter_gives_the_instructor_notebook_full_marks(autograder, tmp_path, shared_cache):
    results = otter_run(autograder, notebook_path("instructor"), tmp_path / "out", shared_cache)
    assert otter_scores(results) == RUBRIC
    # The kernel's own cases passed too: it ran otter's cells and the placeholder only.
    assert "its results agreed with the grader's" in (tmp_path / "out" / "otter-stdout.txt").read_text()


@pytest.mark.slow
def test_otter_gives_the_untouched_student_notebook_0_with_readable_messages(autograder, tmp_path, shared_cache):
    results = otter_run(autograder, notebook_path("student"), tmp_path / "out", shared_cache)
    assert otter_scores(results) == {name: 0 for name in RUBRIC}
    for test in results["tests"]:
        if test["name"] in RUBRIC:
            messages = re.findall(r"AssertionError: (.*)", test["output"])
            # A withheld check says only that it failed (otter_cases.WITHHELD_FAILURE), not why.
            assert messages and all(re.fullmatch(r"[\w.]+: not implemented yet", m) or m == WITHHELD_FAILURE
                                    for m in messages), test
            assert sum(m == WITHHELD_FAILURE for m in messages) == 1, test  # one hidden check per exercise
            assert "Traceback" not in test["output"]


@pytest.mark.slow
def test_otter_scores_a_partly_correct_notebook_exactly_like_pytest_grader(autograder, tmp_path, shared_cache):
    notebook = partly_correct_notebook(tmp_path / "submission.ipynb")
    extracted = tmp_path / "extracted"
    extract_modules(notebook, extracted)
    graded = run_grader(extracted, tmp_path, "--train-cache", str(shared_cache))
    expected = graded.exercise_scores()
    assert 0 < graded.results["score"] < 100 and 0 < expected["activations"] < RUBRIC["activations"]

    by_notebook = otter_run(autograder, notebook, tmp_path / "ipynb", shared_cache)
    assert otter_scores(by_notebook) == expected
    script = python_export(notebook, tmp_path / "script" / "submission.py")
    by_script = otter_run(autograder, script, tmp_path / "py", shared_cache)
    assert otter_scores(by_script) == expected
    for out in ("ipynb", "py"):
        assert "its results agreed with the grader's" in (tmp_path / out / "otter-stdout.txt").read_text()

    # The failing check's message is the grader's own, word for word.
    failed = next(t for t in graded.failed_checks() if t["tags"] == ["activations"])
    activations = next(t for t in by_notebook["tests"] if t["name"] == "activations")
    assert failed["output"].splitlines()[0] in activations["output"]


def test_release_carries_the_student_notebook_only():
    from grader.authoring.release import RELEASED

    assert "notebooks/student" in RELEASED and not any(entry.startswith("notebooks/instructor") for entry in RELEASED)
    assert all(notebook_path(kind).is_file() for kind in KINDS)
    assert (REPO_ROOT / "notebooks" / "student" / "mnist_course.ipynb") == notebook_path("student")


# --- the lesson's code cells, read by linters ------------------------------------------------

def lesson_script() -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """The lesson's code as the notebook runs it, for a linter.

    Returns the ``(name, source)`` of every setup, demo and check cell of ``lesson.md``, the
    lines of one script made of them in notebook order, and the cell each line comes from.
    An exercise placeholder becomes one line binding the names its cells define (taken from
    ``solutions/``) and the check call that follows them.
    """
    import ast

    from grader.authoring import lesson_text

    cells, script, origin = [], [], []
    for number, (kind, content) in enumerate(lesson_text.lesson(), start=1):
        name = f"lesson.md cell {number} ({kind})"
        if kind in ("setup", "demo", "check"):
            cells.append((name, content))
            lines = content.splitlines()
        elif kind == "exercise":
            tree = ast.parse((SOLUTIONS_DIR / f"{content}.py").read_text())
            defined = [node.name for node in tree.body
                       if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
            lines = [" = ".join([*defined, "None"]) + f"; check({content!r})"]
        else:
            continue
        script += lines
        origin += [name] * len(lines)
    return cells, script, origin


def test_lesson_code_cells_compile():
    cells, _, _ = lesson_script()
    assert sum(name.endswith("(setup)") for name, _ in cells) == 1
    assert sum(name.endswith("(demo)") for name, _ in cells) > 10
    for name, source in cells:
        compile(source, name, "exec")  # a SyntaxError names the cell and the line


def test_lesson_code_cells_have_no_undefined_names_or_unused_imports():
    pytest.importorskip("pyflakes")
    import ast

    from pyflakes import checker, messages

    _, script, origin = lesson_script()
    found = checker.Checker(ast.parse("\n".join(script) + "\n"), filename="lesson.md").messages
    problems = [f"{origin[message.lineno - 1]}: {message.message % message.message_args}"
                for message in sorted(found, key=lambda message: message.lineno)
                if isinstance(message, (messages.UndefinedName, messages.UndefinedLocal, messages.UnusedImport))]
    assert problems == []
