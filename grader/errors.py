"""``CourseError``: the base of the course tools' own errors (bad input, a broken build).

Every error a ``course`` command reports to its user derives from it, so ``cli.main``
catches them in one place and exits with status 2 and the message, never a traceback.
Each subclass keeps the built-in base callers already catch (``ValueError``, ...).
"""


class CourseError(Exception):
    """A problem the user can fix, with a message that names it."""


class GraderCrashed(CourseError, RuntimeError):
    """A grading run ended without writing results.json."""


__all__ = ["CourseError", "GraderCrashed"]
