"""The course's otter plugin: otter never executes the submission, the grader scores it.

otter-grader grades a notebook by executing its cells (a ``.py`` submission as one cell)
in a Jupyter kernel and then running the test files in that kernel's global
environment; the kernel pickles the results and otter's own process unpickles them
and writes ``results.json``. Anything a submission runs there (a cell without the
``otter_ignore`` tag, every line of a ``.py`` export) could rebind what the test files
call, patch ``json`` or ``open``, or rewrite files. So this plugin, listed in the
autograder's ``otter_config.json``, makes sure none of it ever runs:

``before_grading`` (in otter's process, before any kernel exists)
    reads the submission file as bytes (a symlink or a file over 100 MB is refused),
    then empties the submission folder (the kernel's working folder, first on its
    ``sys.path``) and puts back only what the autograder itself brought: its test files
    and support files (``grader/``, ``data_cache/``). A file uploaded next to the
    notebook (``numpy.py``, a ``grader/`` folder, a ``.OTTER_LOG`` that otter would
    unpickle) is gone before otter looks. The submission itself is replaced by an empty
    notebook or script of the same name.

    Then it grades: the exercise modules are extracted from the bytes as text
    (``grader.notebook.extract``) into a private folder (mode 0700) and graded by
    ``python -m pytest grader/ --target CODE --isolate --results RESULTS`` (the
    autograder's own copy of the grader), so student code runs only in the grader's
    sandboxed worker (as root: a dedicated unprivileged uid that cannot read or write
    the private folder). The checks' outcomes (the *verdict*) are kept in memory and in
    ``verdict.json`` in the private folder, whose path the kernel finds in
    ``$COURSE_OTTER_VERDICT``.

``before_execution``
    returns a notebook with one comment cell in place of the submission, and deletes the
    placeholder file: the kernel runs otter's own cells and the test files only.

``after_grading`` (in otter's process, after the kernel is done)
    throws away what the kernel reported and runs the autograder's test files again in
    otter's process against the in-memory verdict. So the score otter writes is the
    grader's, check for check, whatever happened in the kernel.

In the kernel each case (``grader.notebook.otter_cases.otter_case``) also refuses to pass
unless the kernel's input history holds nothing but otter's cells and this plugin's
comment cell, and the verdict file exists: an autograder without the plugin gives 0.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import nbformat
from otter.plugins import AbstractOtterPlugin
from otter.run.run_autograder.utils import OtterRuntimeError

from grader.errors import GraderCrashed
from grader.launch import GRADER_DIR, grade, grader_args, grading_environment
from grader.notebook.extract import read_modules, write_modules
from grader.notebook.otter_cases import PLACEHOLDER_CELL, VERDICT_ENV, use_verdict

#: Largest submission file read (a notebook with pictures is a few MB).
MAX_SUBMISSION_BYTES = 100 << 20
#: Wall-clock limit of the whole grader run (each call has the grader's own, shorter limit).
GRADER_TIMEOUT = 3 * 3600
#: The kernelspec of the placeholder notebook (the name otter and Gradescope use).
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


class CoursePlugin(AbstractOtterPlugin):
    """See the module docstring. Listed in ``otter_config.json`` as
    ``grader.notebook.otter_plugin.CoursePlugin``."""

    def __init__(self, submission_path, submission_metadata, plugin_config):
        super().__init__(submission_path, submission_metadata, plugin_config)
        self.private: Path | None = None
        self.verdict: dict | None = None
        self.placeholder: Path | None = None
        self.autograder_dir: Path | None = None
        self.kernel_agreed: bool | None = None

    # -- otter events ------------------------------------------------------------------

    def before_grading(self, config) -> None:
        if self.submission_path is None:  # otter generate instantiates plugins without one
            return
        self.autograder_dir = Path(config.autograder_dir).resolve()
        submission = Path(self.submission_path)
        try:
            data, problem = read_submission(submission)
            self.private = Path(tempfile.mkdtemp(prefix="course-otter-")).resolve()
            self.private.chmod(0o700)
            atexit.register(shutil.rmtree, self.private, True)
            quarantine(self.autograder_dir / "submission", self.autograder_dir / "source")
            self.placeholder = write_placeholder(self.autograder_dir / "submission" / submission.name)
        except OSError as error:
            raise OtterRuntimeError(f"the course plugin could not prepare the grading folder: {error}") from None
        try:
            self.verdict = (verdict_of_error(problem, submission.name) if problem else
                            grade_submission(data, submission.name, self.private, self.grader_dir()))
        except Exception as error:  # noqa: BLE001 - every case then fails with this message
            self.verdict = verdict_of_error(f"{type(error).__name__}: {error}", submission.name, data)
        verdict_path = self.private / "verdict.json"
        verdict_path.write_text(json.dumps(self.verdict))
        os.environ[VERDICT_ENV] = str(verdict_path)

    def before_execution(self, submission):
        if self.placeholder is not None:
            self.placeholder.unlink(missing_ok=True)
        return placeholder_notebook()

    def after_grading(self, results) -> None:
        if self.verdict is None or self.autograder_dir is None:
            return
        try:
            kernel_view = outcomes(results.results.values())
        except Exception:  # noqa: BLE001 - whatever the kernel sent, it is replaced below
            kernel_view = None
        use_verdict(self.verdict)
        try:
            test_files = trusted_test_files(self.autograder_dir / "source" / "tests")
        finally:
            use_verdict(None)
        results.results = {test_file.name: test_file for test_file in test_files}
        results._catastrophic_error = None
        self.kernel_agreed = kernel_view == outcomes(test_files)
        os.environ.pop(VERDICT_ENV, None)
        if self.private is not None:
            shutil.rmtree(self.private, ignore_errors=True)

    def generate_report(self) -> str:
        if self.verdict is None:
            return ""
        verdict = self.verdict
        lines = [f"Course grader (python -m pytest grader/ --isolate) on {verdict['submission']} "
                 f"(sha256 {verdict['sha256'][:16]}): {verdict.get('score', 0):g} / {verdict.get('max_score', 0):g}"]
        if verdict.get("error"):
            lines.append(f"  not graded: {verdict['error']}")
        lines.append(f"  grader: {verdict.get('grader', '?')}")
        lines.append(f"  otter's process imported the plugin from {Path(__file__).resolve().parent}")
        lines.append("  the kernel ran no submission code; its results "
                     + ("agreed with the grader's" if self.kernel_agreed else
                        "differed from the grader's and were replaced"))
        return "\n".join(lines)

    # -- helpers -----------------------------------------------------------------------

    def grader_dir(self) -> Path:
        """The autograder's own copy of the grader (``source/files/grader``), else this one."""
        packed = self.autograder_dir / "source" / "files" / "grader"
        return packed if (packed / "plugin.py").is_file() else GRADER_DIR


def read_submission(path: Path) -> tuple[bytes, str | None]:
    """The submission's bytes, or why it cannot be read (a symlink, too large, unreadable)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as error:
        return b"", f"{path.name} cannot be opened ({error.strerror}; symbolic links are refused)"
    with os.fdopen(descriptor, "rb") as handle:
        data = handle.read(MAX_SUBMISSION_BYTES + 1)
    if len(data) > MAX_SUBMISSION_BYTES:
        return b"", f"{path.name} is larger than {MAX_SUBMISSION_BYTES >> 20} MB"
    return data, None


def quarantine(submission_dir: Path, source_dir: Path) -> None:
    """Empty ``submission_dir``; put back the autograder's tests and support files only.

    What otter's ``prepare_files`` puts there, except that nothing the student uploaded
    survives (otter keeps an uploaded folder when it has the name of a support folder).
    """
    for entry in list(submission_dir.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    files = source_dir / "files"
    for entry in sorted(files.iterdir()) if files.is_dir() else ():
        if entry.is_dir():
            shutil.copytree(entry, submission_dir / entry.name, symlinks=True)
        else:
            shutil.copyfile(entry, submission_dir / entry.name)
    shutil.copytree(source_dir / "tests", submission_dir / "tests")
    (submission_dir / "__init__.py").write_text("")


def write_placeholder(path: Path) -> Path:
    """An empty notebook (or script) where the submission was, for otter to read."""
    if path.suffix == ".ipynb":
        path.write_text(nbformat.writes(placeholder_notebook()))
    else:
        path.write_text(PLACEHOLDER_CELL + "\n")
    return path


def placeholder_notebook() -> nbformat.NotebookNode:
    """What otter executes instead of the submission: one comment cell."""
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PLACEHOLDER_CELL)],
                                    metadata={"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}})


def grade_submission(data: bytes, name: str, private: Path, grader_dir: Path) -> dict:
    """Extract the exercise modules from ``data`` (as text) and grade them, isolated."""
    copy = private / "submission" / Path(name).name
    copy.parent.mkdir()
    copy.write_bytes(data)
    code = private / "code"
    try:
        write_modules(read_modules(copy), code)
    except (ValueError, OSError) as error:
        return verdict_of_error(str(error), name, data)
    finally:
        copy.unlink()
    results = private / "results.json"
    env = grading_environment({key: value for key, value in os.environ.items() if key != VERDICT_ENV})
    try:
        run = grade(grader_args(code, results, "--isolate", grader_dir=grader_dir), results,
                    cwd=grader_dir.parent, env=env, timeout=GRADER_TIMEOUT)
    except subprocess.TimeoutExpired:
        return verdict_of_error(f"the grader ran longer than {GRADER_TIMEOUT} s", name, data)
    except (GraderCrashed, ValueError) as error:
        return verdict_of_error(str(error)[-2000:], name, data)
    graded, output = run.results, run.output
    tests = [{"name": str(test.get("name")), "status": str(test.get("status")), "output": str(test.get("output") or "")}
             for test in graded.get("tests", [])]
    return {"submission": name, "sha256": hashlib.sha256(data).hexdigest(), "error": None,
            "score": graded.get("score", 0), "max_score": graded.get("max_score", 0), "tests": tests,
            "grader": f"python -m pytest {grader_dir} --target CODE --isolate", "output": output[-2000:]}


def verdict_of_error(error: str, name: str, data: bytes = b"") -> dict:
    return {"submission": name, "sha256": hashlib.sha256(data).hexdigest(), "error": error,
            "score": 0, "max_score": 0, "tests": [], "grader": "not run", "output": ""}


def trusted_test_files(tests_dir: Path) -> list:
    """The autograder's test files, run in this process against the verdict."""
    from otter.test_files import ExceptionTestFile

    test_files = []
    for path in sorted(tests_dir.glob("*.py")):
        test_file = ExceptionTestFile.from_file(str(path))
        test_file.run({})
        test_files.append(test_file)
    return test_files


def outcomes(test_files) -> dict:
    """Test file name -> each case's (name, passed), to compare two runs."""
    return {test_file.name: [(result.test_case.name, bool(result.passed)) for result in test_file.test_case_results]
            for test_file in test_files}


__all__ = ["CoursePlugin", "PLACEHOLDER_CELL", "quarantine", "grade_submission", "placeholder_notebook"]
