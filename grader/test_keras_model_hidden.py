"""Withheld checks for ``keras_model.py`` (1 point): a student release does not carry this file.

A second, independent test of the Keras model at inference: a model built afresh and run
on another batch (5 images, another seed), checked as ``test_keras_model.py`` checks its
batch (``check_inference_output``: (N, 10) probabilities, ``predict`` equal to a call).
"""

import numpy as np
import pytest

from grader.test_keras_model import check_inference_output


@pytest.mark.points(1, visibility="hidden")
def test_inference_on_an_unseen_batch(student, grader_seed):
    """build_keras_model() gives the same probabilities on every call for an unseen batch of 5 images"""
    images = np.random.default_rng([grader_seed, 2805]).random((5, 28, 28), dtype=np.float32)
    check_inference_output(student.call("models.keras_model", images), images)
