"""The mistakes corpus (issue 4, recall): every realistic wrong submission is caught, in
its own exercise only, with a message that names the mistake.

Each entry of ``tests/corpus/mistakes.py`` is materialized as a submission (``solutions/``
plus one small edit) and graded by the real grader in a subprocess, two at a time.
CI grades every entry without the accuracy bars (``-k "not bar"``); a few model,
training and Keras mistakes are also graded with the bars (``slow``), to show that the
bar diagnosis charges the bug to its own exercise and keeps the other one's bar points.
"""

from __future__ import annotations

import re

import pytest

from grader.paths import EXERCISE_MODULES
from tests.corpus.build import RUBRIC, changed_sources, grade_all, judge
from tests.corpus.mistakes import BY_ID, ISSUE_ITEMS, MISTAKES

#: Grader processes run at once (this machine and CI have 2 cores).
JOBS = 2
#: Graded with the accuracy bars too: one model, one training and one Keras mistake.
WITH_BARS = ("model_without_flatten", "train_loss_outside_tape", "keras_categorical_crossentropy")


def selected(request, test_name: str) -> list:
    """The entries whose ``test_name[...]`` test this session runs (so ``-k`` grades only those)."""
    ids = [item.callspec.params["mistake"].id for item in request.session.items
           if getattr(item, "originalname", None) == test_name and hasattr(item, "callspec")]
    return [BY_ID[mistake_id] for mistake_id in dict.fromkeys(ids)]


def graded_run(graded: dict, mistake):
    outcome = graded[mistake.id]
    if isinstance(outcome, BaseException):
        raise outcome
    assert outcome.returncode == 0, f"the grader crashed on {mistake.id}:\n{outcome.output[-3000:]}"
    return outcome


def describe(mistake) -> str:
    return f"{mistake.id} ({mistake.exercise}: {mistake.description})"


# --- the corpus itself ------------------------------------------------------------------

def test_corpus_has_40_distinct_mistakes_of_every_exercise():
    assert len(MISTAKES) >= 40
    assert len(BY_ID) == len(MISTAKES), "mistake ids must be unique"
    assert {mistake.exercise for mistake in MISTAKES} == set(EXERCISE_MODULES)
    for mistake in MISTAKES:
        assert mistake.module_name in EXERCISE_MODULES and mistake.description and mistake.hint


def test_corpus_covers_every_mistake_issue_4_lists():
    covered = {mistake.covers for mistake in MISTAKES}
    assert set(ISSUE_ITEMS) <= covered, f"not covered: {sorted(set(ISSUE_ITEMS) - covered)}"
    assert covered - {None} <= set(ISSUE_ITEMS), "an entry covers an item that is not in ISSUE_ITEMS"
    for mistake in MISTAKES:
        if mistake.covers:
            assert mistake.covers.split(":")[0] == mistake.exercise, mistake.id


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda mistake: mistake.id)
def test_mistake_applies_to_the_current_solutions(mistake):
    """Every ``old`` text occurs exactly once (else ``CorpusError``), and the hint is a valid regex."""
    sources = changed_sources(mistake)
    assert set(sources) == {mistake.module_name}
    re.compile(mistake.hint)


# --- graded without the bars (every entry) ----------------------------------------------

@pytest.fixture(scope="module")
def graded_fast(request, tmp_path_factory) -> dict:
    entries = selected(request, "test_mistake_costs_its_own_exercise_only")
    return grade_all(entries, tmp_path_factory.mktemp("mistakes"), "-k", "not bar", jobs=JOBS)


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda mistake: mistake.id)
def test_mistake_costs_its_own_exercise_only(mistake, graded_fast):
    verdict = judge(mistake, graded_run(graded_fast, mistake).results)
    assert verdict.caught, f"{describe(mistake)} lost no points\n{verdict.explain()}"
    assert verdict.isolated, f"{describe(mistake)} cost points outside {mistake.exercise}\n{verdict.explain()}"
    assert verdict.hinted, (f"a failing message of {describe(mistake)} does not match {mistake.hint!r}\n"
                            f"{verdict.explain()}")


# --- graded with the bars (a few) -------------------------------------------------------

@pytest.fixture(scope="module")
def graded_with_bars(request, tmp_path_factory, shared_cache) -> dict:
    entries = selected(request, "test_with_bars_only_its_own_exercise_loses")
    return grade_all(entries, tmp_path_factory.mktemp("mistakes-bars"), "--train-cache", str(shared_cache),
                     jobs=JOBS)


@pytest.mark.slow
@pytest.mark.parametrize("mistake", [BY_ID[mistake_id] for mistake_id in WITH_BARS],
                         ids=lambda mistake: mistake.id)
def test_with_bars_only_its_own_exercise_loses(mistake, graded_with_bars):
    """With the bars, the other exercises keep every point (their bars included)."""
    run = graded_run(graded_with_bars, mistake)
    verdict = judge(mistake, run.results)
    assert run.results["max_score"] == 100
    assert verdict.caught and verdict.isolated and verdict.hinted, f"{describe(mistake)}\n{verdict.explain()}"
    scores = run.exercise_scores()
    assert {name: score for name, score in scores.items() if name != mistake.exercise} == \
        {name: points for name, points in RUBRIC.items() if name != mistake.exercise}
    # These three break training outright: their own exercise's bar fails, the other's passes.
    assert verdict.bar_messages, f"{describe(mistake)}: its own accuracy bar passed\n{verdict.explain()}"
