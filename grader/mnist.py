"""The one MNIST loader of the course.

``load_data()`` has the signature and return value of
``keras.datasets.mnist.load_data()`` but reads the committed ``data_cache/mnist.npz``
and verifies the SHA-256 of every array, so nothing is downloaded at run time::

    (x_train, y_train), (x_test, y_test) = load_data()
    # x_train (60000, 28, 28) uint8, y_train (60000,) uint8
    # x_test  (10000, 28, 28) uint8, y_test  (10000,) uint8
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from grader.errors import CourseError
from grader.paths import MNIST_PATH

#: SHA-256 of each array's raw bytes (independent of how the npz was zipped).
ARRAY_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
#: Set to 1 on a machine with internet to let a missing file be fetched once.
ALLOW_DOWNLOAD_ENV = "COURSE_ALLOW_DOWNLOAD"


class MNISTDataError(CourseError, RuntimeError):
    """The MNIST file is missing, unreadable or not the real MNIST."""


def load_data(path: str | os.PathLike | None = None):
    """Return ``(x_train, y_train), (x_test, y_test)`` from the committed MNIST file.

    Args:
        path: the ``.npz`` to read; defaults to ``data_cache/mnist.npz``.

    Returns:
        Two tuples of read-only uint8 arrays, shapes as in the module docstring.

    Raises:
        MNISTDataError: the file is missing, unreadable or fails its checksum; the
            message says how to restore it.
    """
    arrays = _load_verified(str(Path(path or MNIST_PATH).resolve()))
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


@lru_cache(maxsize=2)
def _load_verified(path: str) -> dict[str, np.ndarray]:
    file = Path(path)
    if not file.exists():
        _download_or_explain(file)
    try:
        with np.load(file, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in ARRAY_SHA256}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as error:
        raise MNISTDataError(
            f"{file} is not a readable MNIST .npz ({type(error).__name__}: {error}). "
            f"{_RESTORE_HINT}"
        ) from error
    for name, expected in ARRAY_SHA256.items():
        digest = hashlib.sha256(np.ascontiguousarray(arrays[name]).tobytes()).hexdigest()
        if digest != expected:
            raise MNISTDataError(
                f"{file}: array {name!r} fails its SHA-256 check (got {digest[:12]}..., "
                f"expected {expected[:12]}...): the file is corrupt or not MNIST. {_RESTORE_HINT}"
            )
        arrays[name].setflags(write=False)
    return arrays


_RESTORE_HINT = (
    "Restore it with `git checkout -- data_cache/mnist.npz` (it is committed), or copy "
    "the course's mnist.npz there."
)


def _download_or_explain(file: Path) -> None:
    """Fetch the Keras copy into ``file`` if allowed (online machines), else explain."""
    if os.environ.get(ALLOW_DOWNLOAD_ENV) != "1":
        raise MNISTDataError(
            f"MNIST file not found: {file}. {_RESTORE_HINT} On a machine with internet "
            f"you may instead set {ALLOW_DOWNLOAD_ENV}=1 to download Keras's copy there once."
        )
    import keras  # only on this rare path

    file.parent.mkdir(parents=True, exist_ok=True)
    try:
        keras.utils.get_file(str(file.resolve()), origin=KERAS_ORIGIN)
    except Exception as error:  # network errors come in many types
        raise MNISTDataError(f"could not download MNIST to {file}: {error}") from error
