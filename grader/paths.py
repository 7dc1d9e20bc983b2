"""Where things live in the repository (resolved from this file, not the cwd)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR = REPO_ROOT / "solutions"
EXERCISES_DIR = REPO_ROOT / "exercises"
DATA_CACHE_DIR = REPO_ROOT / "data_cache"
MNIST_PATH = DATA_CACHE_DIR / "mnist.npz"

#: The exercise modules, in the order the lesson teaches them.
EXERCISE_MODULES = (
    "activations",
    "convolution",
    "pooling",
    "preprocessing",
    "model",
    "training",
    "keras_model",
)
