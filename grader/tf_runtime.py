"""TensorFlow, imported once with the grader's settings (quiet logs, CPU threads).

Import ``tf`` from here rather than ``tensorflow`` so the settings apply before the
first import, in the grader and in a worker alike.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

__all__ = ["tf"]
