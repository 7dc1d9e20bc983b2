"""The real grader, run as students and instructors run it, end to end."""

import re

import pytest

from grader.paths import EXERCISE_MODULES, EXERCISES_DIR, SOLUTIONS_DIR
from tests.conftest import TF_LOG, run_grader
from tests.corpus.build import changed_sources
from tests.corpus.mistakes import BY_ID as MISTAKES

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
    lines = expect_student_output(run.output)
    assert not any("failed checks" in line for line in lines)
    reached = [line for line in lines if re.match(r"bar with your .*: test accuracy [\d.]+% after", line)]
    assert len(reached) == 3, lines  # each bar says what it reached, trained or cached


def expect_student_output(output: str) -> list[str]:
    """The structure every grader run prints: no TensorFlow logs, no pytest FAILURES or
    short summary (each failure is printed once, by the grader), the score table last."""
    assert not TF_LOG.search(output), TF_LOG.search(output).group(0)
    assert "= FAILURES =" not in output and "short test summary info" not in output
    lines = output.rstrip().splitlines()
    assert lines[-2].startswith("TOTAL"), lines[-4:]  # then pytest's one-line result
    score = max(index for index, line in enumerate(lines) if "= score =" in line)
    failures = [index for index, line in enumerate(lines) if "= failed checks, by exercise =" in line]
    assert failures == [] or failures[0] < score
    return lines


def test_untouched_stubs_print_at_most_80_lines_one_per_exercise(tmp_path):
    run = run_grader("exercises", tmp_path)
    lines = expect_student_output(run.output)
    assert len(lines) <= 80, f"{len(lines)} lines:\n{run.output}"
    todo = [line.split(":")[0] for line in lines if re.match(r"^[\w ]+: \d+ failed, ", line)]
    assert todo == [*EXERCISE_MODULES, "accuracy bars"], todo
    assert sum("not implemented yet:" in line for line in lines) == len(todo)


def partly_correct(folder):
    """Solutions, with softmax's max taken over the whole array and the loss outside the
    tape; pooling and keras_model untouched stubs."""
    folder.mkdir()
    sources = {**changed_sources(MISTAKES["softmax_global_max"]), **changed_sources(MISTAKES["train_loss_outside_tape"])}
    for name in EXERCISE_MODULES:
        default = (EXERCISES_DIR if name in ("pooling", "keras_model") else SOLUTIONS_DIR) / f"{name}.py"
        (folder / f"{name}.py").write_text(sources.get(name) or default.read_text())
    return folder


def test_a_partly_correct_folder_prints_each_failure_once_in_course_order(tmp_path):
    run = run_grader(partly_correct(tmp_path / "student"), tmp_path, "-k", "not bar")
    lines = expect_student_output(run.output)
    groups = [line.split(":")[0] for line in lines if re.match(r"^[\w ]+: \d+ failed, ", line)]
    assert groups == ["activations", "pooling", "training", "keras_model"], groups
    for test in run.failed_checks():
        if test["output"].endswith("not implemented yet"):
            continue  # the stubs: one line per exercise
        title = test["name"].split(": ", 1)[1]
        assert sum(line.endswith(title) for line in lines) == 1, title
    assert sum("GradientTape" in line for line in lines) == 1  # the cause, named once
    # 5: lowers loss, training flag, fit and the hidden Adam step on other batches share the cause.
    assert sum('the same cause as "train_step takes exactly one Adam step' in line for line in lines) == 5
    assert any("max along `axis`" in line for line in lines)
    assert len(lines) <= 80, run.output


def test_pytest_options_still_work_for_those_who_want_them(tmp_path):
    """-v lists every check, --tb=long brings pytest's FAILURES back, -x stops at the first."""
    folder = partly_correct(tmp_path / "student")
    verbose = run_grader(folder, tmp_path, "-k", "softmax", "-v", "--tb=long")
    assert "test_softmax_is_stable FAILED" in verbose.output and "= FAILURES =" in verbose.output
    assert "Traceback" in verbose.output or "def test_softmax_is_stable" in verbose.output
    first = run_grader(folder, tmp_path, "-k", "activations or training", "-x")
    assert len(first.failed_checks()) == 1, first.failed_checks()


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
