"""The similarity report (``course similarity``, ``course grade --similarity``): real copydetect, real files.

The thresholds are held to their measurements: on the correct-variants corpus every honest
pair (two variants of a module, or a variant and the reference) scores below its module's
threshold and every disguised copy (``tests/corpus/disguise.py``) at or above it, and the
table in ``grader/bulk/similarity.py``'s docstring and in the README is what the corpus
measures today. Untouched stubs match nobody (the stubs are boilerplate). A class of
folders, a zip, a notebook and hostile names goes through the real command, and its page
is opened in Chromium.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.bulk import Settings, grade_class
from grader.bulk.similarity import EXCLUDED, THRESHOLDS, Kgrams, boilerplate, fingerprint, pair_shares, shares
from grader.paths import EXERCISE_MODULES, EXERCISES_DIR, REPO_ROOT, SOLUTIONS_DIR
from tests.browser import view
from tests.corpus.build import materialize
from tests.corpus.correct_variants import BY_ID as VARIANTS
from tests.corpus.disguise import disguise
from tests.corpus.similarity_pairs import disguised_copies, honest_pairs, honest_sources
from tests.html_tables import tables
from tests.stand_in import fake_grading

IMG_ID = "<img src=x onerror=alert(1)>"
JUDGED = tuple(module for module in EXERCISE_MODULES if module not in EXCLUDED)
STUDENT_NOTEBOOK = REPO_ROOT / "notebooks" / "student" / "mnist_course.ipynb"


def test_every_module_is_judged_or_excluded_with_a_reason():
    assert set(THRESHOLDS) | set(EXCLUDED) == set(EXERCISE_MODULES) and not set(THRESHOLDS) & set(EXCLUDED)
    assert set(EXCLUDED) == {"model", "keras_model"} and all(EXCLUDED.values())


@pytest.mark.parametrize("module", JUDGED)
def test_the_threshold_separates_honest_work_from_disguised_copies(module):
    honest, copies = honest_pairs(module), disguised_copies(module)
    assert len(honest) >= 3, "too few honest pairs to place a threshold"
    above = [(p.a, p.b, round(p.score, 3)) for p in honest if p.score >= THRESHOLDS[module]]
    below = [(p.a, round(p.score, 3)) for p in copies if p.score < THRESHOLDS[module]]
    assert not above and not below, (above, below)


@pytest.mark.parametrize("module", sorted(EXCLUDED))
def test_an_excluded_module_has_too_little_to_go_on(module):
    """One honest pair only, and the reference's own code is under 200 tokens."""
    assert len(honest_pairs(module)) == 1
    reference = fingerprint(module, honest_sources(module)["reference"], boilerplate(module))
    assert reference.token_coverage < 200


def measured_table() -> dict[str, list[str]]:
    rows = {}
    for module in EXERCISE_MODULES:
        honest, copies = honest_pairs(module), disguised_copies(module)
        rows[module] = [str(len(honest)), f"{min(p.score for p in honest):.3f}", f"{max(p.score for p in honest):.3f}",
                        f"{min(p.score for p in copies):.3f}",
                        "excluded" if module in EXCLUDED else f"{THRESHOLDS[module]:g}"]
    return rows


@pytest.mark.parametrize("where", ["grader/bulk/similarity.py", "README.md"])
def test_the_documented_thresholds_are_the_measured_ones(where):
    text = (REPO_ROOT / where).read_text()
    written = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in re.split(r"\s*\|\s*|\s{2,}", line.strip().strip("|")) if cell.strip()]
        if cells and cells[0].strip("`").removesuffix(".py") in EXERCISE_MODULES and len(cells) == 6 \
                and re.fullmatch(r"\d+", cells[1]):
            written[cells[0].strip("`").removesuffix(".py")] = cells[1:]
    assert written == measured_table()


def test_a_disguised_copy_is_a_real_disguise_and_still_the_same_program():
    source = (SOLUTIONS_DIR / "convolution.py").read_text()
    copy = disguise(source)
    assert disguise(source) == copy  # deterministic
    original, changed = ast.parse(source), ast.parse(copy)
    names = lambda tree: {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}  # noqa: E731
    assert len(names(original) - names(changed)) >= 10  # locals renamed
    signatures = lambda tree: [ast.dump(f.args) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)]  # noqa: E731
    assert signatures(original) == signatures(changed)  # parameters kept: the grader calls them by name
    comments = [line.strip() for line in source.splitlines() if line.strip().startswith("#")]
    assert comments and not set(comments) & {line.strip() for line in copy.splitlines()}
    written = re.findall(r"# BEGIN SOLUTION\n(.*?)# END SOLUTION", source, re.S)  # what a student writes
    code = [line for block in written for line in block.splitlines() if line.strip() and "#" not in line]
    kept = set(copy.splitlines())
    assert len(code) > 50 and sum(line not in kept for line in code) > len(code) / 3
    blank = lambda text: [i for i, line in enumerate(text.splitlines()) if not line.strip()]  # noqa: E731
    assert blank(source) != blank(copy)


@pytest.mark.parametrize("module", EXERCISE_MODULES)
def test_the_fast_shares_are_copydetects_own(module):
    """``compare_module`` scores pairs with ``shares`` (NumPy); it equals ``compare_files`` exactly."""
    common = boilerplate(module)
    sources = [*honest_sources(module).values()]
    sources += [disguise(source) for source in sources] + [(EXERCISES_DIR / f"{module}.py").read_text()]
    prints = [fingerprint(module, source, common) for source in sources]
    for first, second in itertools.combinations(range(len(prints)), 2):
        expected = pair_shares(prints[first], prints[second])
        assert shares(Kgrams(prints[first]), Kgrams(prints[second])) == pytest.approx(expected, abs=1e-12)


def test_untouched_stubs_match_nobody():
    for module in EXERCISE_MODULES:
        stub = (EXERCISES_DIR / f"{module}.py").read_text()
        common = boilerplate(module)
        bare = fingerprint(module, stub, common)
        assert bare.token_coverage == 0 and not bare.hashes
        assert pair_shares(bare, fingerprint(module, stub, common)) == (0.0, 0.0)
        reference = fingerprint(module, (SOLUTIONS_DIR / f"{module}.py").read_text(), common)
        assert pair_shares(bare, reference) == (0.0, 0.0)
        # without the stubs as boilerplate, the same two files are one and the same
        assert pair_shares(fingerprint(module, stub), fingerprint(module, stub)) == (1.0, 1.0)


# -- the command -----------------------------------------------------------------------------------

def make_class(root: Path) -> Path:
    """alice (explicit loops), bob.zip (alice's convolution.py disguised, in a subfolder),
    <img...> (im2col: an honest variant), carol.ipynb (the untouched student notebook),
    dave (the stubs), erin.tar.gz (not gradable), notes.txt (not a student)."""
    submissions = root / "submissions"
    alice = materialize(VARIANTS["conv_explicit_loops"], submissions / "alice")
    with zipfile.ZipFile(submissions / "bob.zip", "w") as archive:
        archive.writestr("work/convolution.py", disguise((alice / "convolution.py").read_text()))
        archive.writestr("__MACOSX/work/convolution.py", "junk")
    materialize(VARIANTS["conv_im2col_matmul"], submissions / IMG_ID)
    shutil.copy(STUDENT_NOTEBOOK, submissions / "carol.ipynb")
    shutil.copytree(EXERCISES_DIR, submissions / "dave")
    (submissions / "erin.tar.gz").write_bytes(b"\x1f\x8b")
    (submissions / "notes.txt").write_text("not a student")
    return submissions


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, dict, subprocess.CompletedProcess]:
    root = tmp_path_factory.mktemp("similarity")
    submissions, out = make_class(root), root / "report"
    done = subprocess.run([sys.executable, "-m", "grader.cli", "similarity", str(submissions), "--out", str(out)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, json.loads((out / "similarity.json").read_text()), done


def test_the_report_lists_the_copied_pair_and_no_honest_one(report):
    out, data, done = report
    modules = {module["module"]: module for module in data["modules"]}
    assert data["students"] == 5 and data["skipped"] == [
        {"id": "erin", "reason": "erin.tar.gz is a .tar.gz archive: only folders, .zip and .ipynb files are graded "
                                 "(send a .zip)"}]
    conv = modules["convolution"]
    assert conv["students"] == 3 and conv["pairs_compared"] == 3 and conv["too_small"] == 0  # stubs: no code
    assert [(p["a"], p["b"], p["score"]) for p in conv["pairs"]] == [("alice", "bob", 1.0)]
    block = conv["pairs"][0]["blocks"]
    assert block and all(b["a_lines"][0] <= b["a_lines"][1] for b in block)
    # the modules alice and <img> both left as the reference: a pair; model/keras_model: not judged
    assert [(p["a"], p["b"]) for p in modules["activations"]["pairs"]] == [(IMG_ID, "alice")]
    assert modules["model"]["excluded"] and modules["model"]["pairs"] == [] and modules["model"]["students"] == 0
    assert "convolution: 1 of 3 pairs at or above 0.99 (highest 1.000)" in done.stdout
    assert "model: not judged" in done.stdout


def test_the_report_page_in_a_real_browser(report, tmp_path):
    out, data, _ = report
    html = (out / "similarity.html").read_text()
    assert "<img" not in html and "<script" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    seen = view(out / "similarity.html", tmp_path / "similarity.png",
                ("script", "img", "section.module", "#convolution table.pairs tbody tr",
                 "#convolution table.side-by-side", "#convolution mark", "#model table"))
    assert seen.errors == [] and seen.requests == [(out / "similarity.html").resolve().as_uri()]
    assert seen.screenshot.stat().st_size > 20_000
    counts = seen.counts
    assert counts["script"] == counts["img"] == 0 and counts["section.module"] == len(EXERCISE_MODULES)
    assert counts["#convolution table.pairs tbody tr"] == 1 and counts["#convolution table.side-by-side"] >= 2
    assert counts["#convolution mark"] > 20 and counts["#model table"] == 0
    # side by side: alice's loop and bob's renamed copy of it, each with its line number
    assert "total += x[i * stride + a, j * stride + b] * k[a, b]" in seen.text
    renamed = re.search(r"\n\d+ +(\w+) \+= (\w+)\[(\w+) \* stride \+ (\w+), (\w+) \* stride \+ (\w+)\] \* (\w+)\[",
                        seen.text.split("total += x[i * stride + a, j * stride + b] * k[a, b]")[-1])
    assert renamed and renamed.group(1) != "total" and renamed.group(3) != "i", "bob's side shows his renamed line"
    assert [row[:3] for row in tables(html)["modules"]][:2] == [["activations", "0.930", "2"],
                                                                 ["convolution", "0.990", "3"]]
    assert IMG_ID in seen.text


def test_course_grade_similarity_adds_the_top_pairs_to_the_summary(tmp_path, monkeypatch):
    """``grade_class(similarity=True)`` with a stand-in for the grading process."""
    submissions, out = tmp_path / "submissions", tmp_path / "results"
    for name in ("ann", "ben"):
        (submissions / name).mkdir(parents=True)
        (submissions / name / "activations.py").write_text("points = 4\n")
        source = (SOLUTIONS_DIR / "pooling.py").read_text()
        (submissions / name / "pooling.py").write_text(source if name == "ann" else disguise(source))
    fake_grading(monkeypatch, {})
    summary = grade_class(submissions, Settings(out=out), progress=False, similarity=True)
    assert (out / "similarity" / "similarity.html").is_file()
    assert summary["similarity"]["pairs"] == [{"module": "pooling", "a": "ann", "b": "ben", "score": 1.0}]
    assert "## Most similar code\n\n- pooling: ann and ben, 1.000" in (out / "summary.md").read_text()
    assert tables((out / "summary.html").read_text())["similarity"] == [["pooling", "ann", "ben", "1.000"]]
    assert not any(path.name == "similarity" for path in submissions.iterdir())
