"""The bar cache's normalized key: one key per program, whatever its layout, and a worker
that runs the grader's canonical copy, so one key means byte-identical files."""

from __future__ import annotations

import ast
import hashlib
import json
import re
import shutil

import pytest

from grader.checking.bar_scoring import run_bar
from grader.checking.normalized_source import (
    RAW_KEY_ENV,
    canonical_copy,
    cite_own_lines,
    code_key,
    normalized_tokens,
    render,
    staged_files,
)
from grader.isolation import staged_worker
from grader.paths import EXERCISE_MODULES, EXERCISES_DIR, REPO_ROOT, SOLUTIONS_DIR
from grader.plain import error_record
from tests.corpus.build import changed_sources
from tests.corpus.correct_variants import VARIANTS
from tests.corpus.mistakes import MISTAKES
from tests.corpus.reformat import reformat

BASE = '''"""Scale a batch."""
import numpy as np


def scale(x, factor=2.5):
    """Scale x by factor."""
    total = np.sum(x) * factor
    if total > 1:
        total = total - 1
        total = total / 2
    return {"total": total, "items": [x, factor]}
'''

SAME_PROGRAM = {
    "comments": BASE.replace("    total = np", "    # the sum first\n    total = np").replace(
        "factor\n", "factor  # scaled\n", 1) + "# end of file\n",
    "blank lines": BASE.replace("\n\n\n", "\n").replace("    if", "\n\n    if"),
    "spacing inside expressions": BASE.replace("np.sum(x) * factor", "np.sum( x )*factor").replace(
        '{"total": total', '{ "total" :total'),
    "line continuation": BASE.replace("np.sum(x) * factor", "np.sum(x) \\\n        * factor").replace(
        '"total": total, ', '"total": total,\n            '),
    "trailing whitespace": BASE.replace("\n", "   \n"),
    "tabs for spaces": BASE.replace("        ", "\t\t").replace("    ", "\t"),
    "two-space indentation": re.sub(r"(?m)^( +)", lambda lead: " " * (len(lead[1]) // 2), BASE),
}

ONE_TOKEN_APART = {
    "a name": BASE.replace("np.sum", "np.mean"),
    "a number": BASE.replace("2.5", "2.6"),
    "a string": BASE.replace('"total"', '"totals"'),
    "a docstring character": BASE.replace("Scale x by factor.", "Scale x by factor!"),
    "the string's quotes": BASE.replace('"items"', "'items'"),
    "an operator": BASE.replace("total > 1", "total >= 1"),
    "a statement moved out of its block": BASE.replace("        total = total / 2", "    total = total / 2"),
}


def copy_of(text: str) -> bytes:
    copy = canonical_copy(text.encode())
    assert copy is not None, text
    return copy.text


@pytest.mark.parametrize("change", sorted(SAME_PROGRAM))
def test_formatting_keeps_the_normalized_form_and_the_copy(change):
    variant = SAME_PROGRAM[change]
    assert variant != BASE
    assert normalized_tokens(variant.encode()) == normalized_tokens(BASE.encode())
    assert copy_of(variant) == copy_of(BASE)


@pytest.mark.parametrize("change", sorted(ONE_TOKEN_APART))
def test_one_token_apart_is_another_key(change):
    variant = ONE_TOKEN_APART[change]
    assert variant != BASE
    assert normalized_tokens(variant.encode()) != normalized_tokens(BASE.encode())
    assert copy_of(variant) != copy_of(BASE)


def test_generated_layouts_of_every_solution_share_its_copy():
    """``tests/corpus/reformat.py`` (what ``bench/formatting_class.py`` hands in) keeps the form."""
    for module in EXERCISE_MODULES:
        source = (SOLUTIONS_DIR / f"{module}.py").read_text()
        layouts = {reformat(source, style) for style in range(8)}
        assert len(layouts) == 8 and source not in layouts
        assert {copy_of(layout) for layout in layouts} == {copy_of(source)}, module


def corpus_sources() -> dict[str, str]:
    """Every solution and exercise module, the corpus's own files and every corpus entry's modules."""
    files = [*SOLUTIONS_DIR.glob("*.py"), *EXERCISES_DIR.glob("*.py"), *(REPO_ROOT / "tests" / "corpus").glob("*.py")]
    sources = {str(path.relative_to(REPO_ROOT)): path.read_text() for path in files}
    for entry in (*VARIANTS, *MISTAKES):
        sources.update({f"{entry.id}/{module}.py": text for module, text in changed_sources(entry).items()})
    return sources


def test_the_copy_is_the_same_program_with_the_same_tokens():
    """Same syntax tree (``ast.dump`` leaves positions out), same code objects but for line
    numbers, and rendering is idempotent, so two different forms never share one copy."""
    sources = corpus_sources()
    assert len(sources) > 100
    for name, source in sources.items():
        copy = canonical_copy(source.encode())
        assert copy is not None, f"{name}: no canonical copy"
        assert ast.dump(ast.parse(copy.text)) == ast.dump(ast.parse(source)), name
        assert code_key(compile(copy.text, "a", "exec")) == code_key(compile(source, "b", "exec")), name
        assert normalized_tokens(copy.text) == normalized_tokens(source.encode()), name
        assert render(normalized_tokens(copy.text))[0].encode() == copy.text, name


def test_code_key_sees_code_and_ignores_lines():
    shifted = "\n\n\n" + BASE.replace("total = np.sum(x) * factor", "total = (np.sum(x)\n     * factor)")
    assert code_key(compile(shifted, "a", "exec")) == code_key(compile(BASE, "b", "exec"))
    for variant in ("0.0", "-0.0", "1", "True"):
        other = BASE.replace("2.5", variant)
        assert code_key(compile(other, "a", "exec")) != code_key(compile(BASE, "b", "exec")), variant


@pytest.mark.parametrize("broken", [
    b"def f(:\n    pass\n",  # tokenizes, does not compile
    b"x = '''never closed\n",  # does not tokenize
    b"if x:\n        a = 1\n    b = 2\n",  # a dedent to no level
    b"s = '\xe9'\n",  # Latin-1 bytes without a declaration
    b"x = 1\x00\n",
])
def test_what_does_not_compile_is_staged_and_keyed_as_written(tmp_path, broken):
    assert canonical_copy(broken) is None
    (tmp_path / "model.py").write_bytes(broken)
    staged = staged_files(tmp_path, ("model",))
    assert staged.files == {"model.py": broken} and not staged.copies


def test_an_encoding_declaration_is_decoded_and_the_copy_is_utf8():
    latin = '# -*- coding: latin-1 -*-\nname = "café"\n'.encode("latin-1")
    plain = 'name = "café"\n'.encode("utf-8")
    assert canonical_copy(latin).text == canonical_copy(plain).text
    assert canonical_copy(latin).text.decode("utf-8") == 'name = "café"\n'


def test_staging_takes_regular_files_only_and_can_be_raw(tmp_path, monkeypatch):
    (tmp_path / "model.py").write_text(SAME_PROGRAM["comments"])
    (tmp_path / "training.py").symlink_to(SOLUTIONS_DIR / "training.py")
    staged = staged_files(tmp_path, ("model", "training", "keras_model"))
    assert staged.files == {"model.py": copy_of(BASE)} and set(staged.copies) == {"model"}
    monkeypatch.setenv(RAW_KEY_ENV, "1")
    assert staged_files(tmp_path, ("model",)).files == {"model.py": SAME_PROGRAM["comments"].encode()}


def test_a_traceback_from_the_copy_cites_the_students_lines(tmp_path):
    """Run the copy as the worker would (a file in another folder), then map its frames back."""
    student = BASE.replace("    if total", "    # a comment\n\n    if total").replace(
        "        total = total / 2", "        raise ValueError('too big')")
    own_line = student.splitlines().index("        raise ValueError('too big')") + 1
    (tmp_path / "own").mkdir()
    (tmp_path / "own" / "model.py").write_text(student)
    staged = staged_files(tmp_path / "own", ("model",))
    worker_copy = tmp_path / "submission" / "model.py"
    worker_copy.parent.mkdir()
    worker_copy.write_bytes(staged.files["model.py"])
    namespace: dict = {}
    exec(compile(worker_copy.read_bytes(), str(worker_copy), "exec"), namespace)
    with pytest.raises(ValueError) as raised:
        namespace["scale"]([3.0])
    text = error_record(raised.value, (str(worker_copy),)).traceback.rstrip()
    assert f'File "{worker_copy}", line {own_line}' not in text  # the copy's lines are not the student's
    cited = cite_own_lines(text, staged.copies, tmp_path / "own")
    assert cited.startswith(f'  File "model.py", line {own_line}, in scale\n'), cited
    assert "raise ValueError('too big')" in cited
    own_frame = text.replace(str(worker_copy), str(tmp_path / "own" / "model.py"))
    assert cite_own_lines(own_frame, staged.copies, tmp_path / "own") == own_frame  # in-process: already own


SELF_READING = '''import hashlib


def build_keras_model():
    # a module that reads its own file: it sees the grader's copy, the same for every layout
    raise ValueError(hashlib.sha256(open(__file__, "rb").read()).hexdigest())
'''


def test_a_staged_bar_worker_reads_the_canonical_copy(tmp_path):
    """The real bar path: ``run_bar`` stages ``staged_files`` into a real sandboxed worker."""
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "keras_model.py").write_text(SELF_READING.replace("\n\n\n", "\n\n\n# spacing\n\n"))
    copy = staged_files(folder, ("keras_model",)).copies["keras_model"]
    assert copy.text != (folder / "keras_model.py").read_bytes()
    outcome = run_bar(lambda files: staged_worker(files, timeout=120), "keras", 1, student_folder=folder)
    assert outcome.error and outcome.error.startswith("ValueError: "), outcome.error
    assert outcome.error.splitlines()[0] == f"ValueError: {hashlib.sha256(copy.text).hexdigest()}"
    raise_line = (folder / "keras_model.py").read_text().splitlines().index(
        '    raise ValueError(hashlib.sha256(open(__file__, "rb").read()).hexdigest())') + 1
    assert f'File "keras_model.py", line {raise_line}, in build_keras_model' in outcome.error


def test_two_layouts_give_the_worker_one_file(tmp_path):
    for name, text in (("a", SELF_READING), ("b", reformat(SELF_READING, 3))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "keras_model.py").write_text(text)
    first, second = (staged_files(tmp_path / name, ("keras_model",)) for name in "ab")
    assert (tmp_path / "a" / "keras_model.py").read_bytes() != (tmp_path / "b" / "keras_model.py").read_bytes()
    assert first.files == second.files



@pytest.mark.slow
def test_a_class_whose_models_differ_in_layout_trains_each_bar_once(tmp_path):
    """``course grade`` of two students whose model.py/training.py/keras_model.py differ only
    in comments and layout: one cache entry per bar key (three), the same bar scores."""
    from grader.bulk import Settings, grade_class
    from tests.corpus.build import is_bar

    submissions = tmp_path / "submissions"
    shutil.copytree(SOLUTIONS_DIR, submissions / "alice")
    shutil.copytree(SOLUTIONS_DIR, submissions / "bob")
    for module in ("model", "training", "keras_model"):
        path = submissions / "bob" / f"{module}.py"
        path.write_text(reformat(path.read_text(), 5))
        assert path.read_bytes() != (SOLUTIONS_DIR / f"{module}.py").read_bytes()
    out = tmp_path / "out"
    grade_class(submissions, Settings(out=out), workers=2, progress=False)
    entries = sorted((out / ".train_cache").glob("*.json"))
    assert len(entries) == 3, [path.name for path in entries]
    bars = {}
    for student in ("alice", "bob"):
        results = json.loads((out / student / "results.json").read_text())
        bars[student] = {test["name"]: test["score"] for test in results["tests"] if is_bar(test)}
    assert len(bars["alice"]) == 3 and bars["alice"] == bars["bob"], bars
