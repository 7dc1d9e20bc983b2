"""The documented end-to-end runs: `course train cnn|keras` on the solutions."""

import re
import subprocess
import sys

import pytest

from grader.paths import REPO_ROOT
from tests.conftest import TF_LOG


def train(model: str, epochs: int) -> str:
    done = subprocess.run([sys.executable, "-m", "grader.cli", "train", model, "--target", "solutions",
                           "--epochs", str(epochs)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    output = done.stdout + done.stderr
    assert not TF_LOG.search(output), TF_LOG.search(output).group(0)
    return output


def final_accuracy(output: str) -> float:
    return float(re.search(r"final test accuracy ([\d.]+)%", output).group(1)) / 100


def test_keras_run_prints_each_epoch_and_learns():
    output = train("keras", 1)
    assert re.search(r"1875/1875 .*accuracy: [\d.]+ - loss: [\d.]+ - val_accuracy: [\d.]+", output)
    assert final_accuracy(output) > 0.93


@pytest.mark.slow
def test_cnn_custom_loop_prints_each_epoch_and_learns():
    output = train("cnn", 1)
    assert re.search(r"Epoch 1: loss [\d.]+, accuracy [\d.]+%, test loss [\d.]+, test accuracy [\d.]+%", output)
    assert final_accuracy(output) > 0.97


def test_an_untouched_exercise_fails_with_a_clear_message():
    done = subprocess.run([sys.executable, "-m", "grader.cli", "train", "keras", "--epochs", "1"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "not implemented yet" in done.stderr and "Traceback" not in done.stderr
