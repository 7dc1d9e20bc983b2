"""Withheld checks for ``model.py`` (1 point): a student release does not carry this file.

A second, independent test of ``MNISTModel.call``: a model built afresh and called on
another batch (3 images, another seed, half the pixels 0 as in MNIST), against the same
oracle (the lesson's network given the model's own weights, through
``check_call_matches_reference``).
"""

import numpy as np
import pytest

from grader.test_model import check_call_matches_reference

#: Images in the unseen batch.
UNSEEN_BATCH = 3


@pytest.fixture(scope="module")
def unseen_images(grader_seed: int) -> np.ndarray:
    """(3, 28, 28, 1) float32 'images' in [0, 1], about half of the pixels 0."""
    rng = np.random.default_rng([grader_seed, 2803])
    images = rng.random((UNSEEN_BATCH, 28, 28, 1), dtype=np.float32)
    return np.where(rng.random(images.shape) < 0.5, np.float32(0), images)


@pytest.mark.points(1, visibility="hidden")
def test_call_on_an_unseen_batch(student, unseen_images):
    """MNISTModel on an unseen batch of 3 images gives the lesson's network's output"""
    check_call_matches_reference(student.call("models.mnist_model", unseen_images), unseen_images)
