"""Instructor-only tools; nothing here runs while a submission is graded.

- ``solution_markers``  solutions/ -> exercises/ (the ``# BEGIN SOLUTION`` stripper)
- ``lesson_text``, ``notebooks``  the lesson's student and instructor notebooks
- ``otter_build``       the otter-grader autograder zip
- ``release``           a student copy of the repository without solutions
"""
