"""The notebook API under its name of the first term (notebooks and otter test files import it)."""
from grader.notebook.check import (  # noqa: F401
    check,
    format_report,
    grade_modules,
    quick_mode,
    run_grader,
)
from grader.notebook.otter_cases import (  # noqa: F401
    PLACEHOLDER_CELL,
    VERDICT_ENV,
    foreign_cells,
    otter_case,
    use_verdict,
)
