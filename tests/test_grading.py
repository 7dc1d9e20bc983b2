"""The real grader, run as students and instructors run it, end to end."""

import re

import pytest

from grader.paths import EXERCISE_MODULES
from tests.conftest import run_grader

RUBRIC = {"activations": 8, "convolution": 20, "pooling": 10, "preprocessing": 14,
          "model": 14, "training": 22, "keras_model": 12}


@pytest.mark.slow
def test_solutions_score_100(tmp_path, shared_cache):
    run = run_grader("solutions", tmp_path, "--train-cache", str(shared_cache))
    assert run.returncode == 0, run.output[-3000:]
    assert run.failed_checks() == []
    assert run.results["score"] == run.results["max_score"] == 100
    assert run.exercise_scores() == RUBRIC
    assert "TOTAL" in run.output and "100 / 100" in run.output


def test_rubric_totals_100_and_covers_every_exercise():
    assert sum(RUBRIC.values()) == 100 and set(RUBRIC) == set(EXERCISE_MODULES)


def test_untouched_stubs_score_0_with_one_line_messages(tmp_path):
    run = run_grader("exercises", tmp_path)
    assert run.returncode == 0, "a run on stubs must finish normally:\n" + run.output[-3000:]
    assert run.results["score"] == 0 and run.results["max_score"] == 100
    for test in run.results["tests"]:
        assert re.fullmatch(r"[\w.]+: not implemented yet", test["output"]), test
    assert "Traceback" not in run.output
    assert " error" not in run.output.lower().split("score")[-1]


def test_a_partial_submission_keeps_the_points_it_earned(tmp_path):
    """relu/softmax and convolution done, the rest untouched: exactly those points."""
    from grader.paths import EXERCISES_DIR, SOLUTIONS_DIR

    folder = tmp_path / "student"
    folder.mkdir()
    for name in EXERCISE_MODULES:
        source = SOLUTIONS_DIR if name in ("activations", "convolution") else EXERCISES_DIR
        (folder / f"{name}.py").write_text((source / f"{name}.py").read_text())
    run = run_grader(folder, tmp_path)
    scores = run.exercise_scores()
    assert scores["activations"] == 8 and scores["convolution"] == 20
    assert run.results["score"] == 28


def test_a_missing_module_costs_only_its_exercise(tmp_path):
    from grader.paths import SOLUTIONS_DIR

    folder = tmp_path / "student"
    folder.mkdir()
    for name in ("activations", "pooling"):
        (folder / f"{name}.py").write_text((SOLUTIONS_DIR / f"{name}.py").read_text())
    run = run_grader(folder, tmp_path, "-k", "not bar")
    assert run.exercise_scores()["activations"] == 8 and run.exercise_scores()["pooling"] == 10
    convolution = [t for t in run.results["tests"] if t["tags"] == ["convolution"]]
    assert convolution and all("convolution.py is missing" in t["output"] for t in convolution)


def test_results_json_follows_the_gradescope_schema(tmp_path):
    run = run_grader("exercises", tmp_path, "-k", "conv2d_lesson")
    test = run.results["tests"][0]
    assert set(test) >= {"name", "score", "max_score", "output", "visibility", "execution_time", "status"}
    assert run.results["visibility"] == "visible" and isinstance(run.results["score"], float)


@pytest.mark.parametrize("isolate", [False, True], ids=["in-process", "isolated"])
def test_a_fit_that_prints_with_tf_print_keeps_its_points(tmp_path, isolate):
    """tf.print writes from C++ to file descriptor 2, past sys.stdout: it still counts as printing."""
    from grader.paths import SOLUTIONS_DIR

    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "training.py").write_text(
        re.sub(r"\n( +)print\(\n", r"\n\1tf.print(\n", (SOLUTIONS_DIR / "training.py").read_text(), count=1)
        .replace("                flush=True,\n", ""))
    assert "tf.print(" in (folder / "training.py").read_text()
    run = run_grader(folder, tmp_path, "-k", "training and not bar", *(["--isolate"] if isolate else []))
    assert run.exercise_scores()["training"] == 22 - 6, run.failed_checks()  # all but the bar's 6


def test_library_warnings_do_not_count_as_printing_each_epoch(tmp_path):
    """A fit that prints nothing loses the printing check even if warnings and logs reach stderr.

    Isolated: in a worker nothing like pytest's own capture swallows them first.
    """
    from grader.paths import SOLUTIONS_DIR

    folder = tmp_path / "student"
    folder.mkdir()
    source = (SOLUTIONS_DIR / "training.py").read_text()
    silent = re.sub(r"\n( +)print\(\n(?:.*\n)*?\1\)\n",
                    r'\n\1warnings.warn("a library warning")\n\1tf.get_logger().warning("a log line")\n',
                    source, count=1)
    assert silent != source and "print(" not in silent.split("def fit")[1]
    (folder / "training.py").write_text(silent.replace("from __future__ import annotations\n",
                                                       "from __future__ import annotations\nimport warnings\n"))
    run = run_grader(folder, tmp_path, "-k", "training and not bar", "--isolate")
    failed = {test["name"]: test["output"] for test in run.failed_checks()}
    assert run.exercise_scores()["training"] == 22 - 6 - 3, failed
    assert any("printed 0 lines for 3 epochs" in output for output in failed.values()), failed
