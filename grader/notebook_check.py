"""The notebook API under its first-term name, for one term: notebooks and otter test files in students' hands import it."""
from grader.notebook.check import check, format_report, grade_modules, quick_mode  # noqa: F401
from grader.notebook.otter_cases import PLACEHOLDER_CELL, VERDICT_ENV, foreign_cells, otter_case, use_verdict  # noqa: F401
