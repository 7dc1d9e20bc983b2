"""The correct-variants corpus (issue 4, precision): no correct answer is ever failed.

Each entry of ``tests/corpus/correct_variants.py`` is materialized as a submission and
graded by the full grader, accuracy bars included, two at a time, with one training
cache for the whole session: submissions whose model.py and training.py are the same
train the CNN once (the first of them is graded before the others), and the reference's
runs are shared with ``test_grading.py``.
"""

from __future__ import annotations

import pytest

from tests.corpus.build import RUBRIC, changed_sources, grade_all
from tests.corpus.correct_variants import BY_ID, VARIANTS

JOBS = 2

#: The styles issue 4 asks for, and the variants that write them.
STYLES = {
    "explicit loops": ("conv_explicit_loops", "pool_loops_per_channel"),
    "sliding_window_view + einsum": ("conv_sliding_window_einsum",),
    "SciPy": ("conv_scipy_correlate2d", "activations_scipy_maximum"),
    "reshape tricks where valid": ("pool_reshape_trick", "conv_im2col_matmul"),
    "np.eye one-hot": ("preprocessing_eye_reciprocal",),
    "Keras model built with add()": ("keras_sequential_add",),
    "Trainer compiled with XLA": ("trainer_xla_compiled",),
    "datasets with prefetch/cache": ("datasets_cache_prefetch",),
    "float64": ("float64_throughout",),
    "the lesson's own code adapted to Keras 3": ("lesson_quickstart_keras3",),
}


def test_at_least_15_variants_in_the_styles_issue_4_asks_for():
    assert len(VARIANTS) >= 15 and len(BY_ID) == len(VARIANTS)
    for style, ids in STYLES.items():
        assert ids and set(ids) <= set(BY_ID), style


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda variant: variant.id)
def test_variant_applies_to_the_current_solutions(variant):
    """Every ``old`` text occurs exactly once, and the variant really changes its modules."""
    sources = changed_sources(variant)
    assert set(sources) == set(variant.modules)


@pytest.fixture(scope="module")
def graded(request, tmp_path_factory, shared_cache) -> dict:
    ids = [item.callspec.params["variant"].id for item in request.session.items
           if getattr(item, "originalname", None) == "test_variant_scores_100" and hasattr(item, "callspec")]
    entries = [BY_ID[variant_id] for variant_id in dict.fromkeys(ids)]
    return grade_all(entries, tmp_path_factory.mktemp("variants"), "--train-cache", str(shared_cache),
                     jobs=JOBS, bars_first=True)


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda variant: variant.id)
def test_variant_scores_100(variant, graded):
    run = graded[variant.id]
    if isinstance(run, BaseException):
        raise run
    failed = "\n".join(f"[{test['score']}/{test['max_score']}] {test['name']}\n{test['output']}"
                       for test in run.failed_checks())
    assert run.returncode == 0, run.output[-3000:]
    assert failed == "", f"{variant.id} ({variant.description}) lost points:\n{failed}"
    assert run.results["score"] == run.results["max_score"] == 100
    assert run.exercise_scores() == RUBRIC
