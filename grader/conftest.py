"""pytest configuration of the grader: everything lives in ``grader.plugin``."""

from grader.plugin import *  # noqa: F401,F403  (hooks and fixtures)
