"""The single source of truth: exercises/ is a fresh build of solutions/, markers are strict."""

import ast
import textwrap

import pytest

from grader.authoring.solution_markers import (
    MarkerError,
    exercises_up_to_date,
    strip_solutions,
)
from grader.paths import EXERCISES_DIR, SOLUTIONS_DIR


def test_committed_exercises_equal_a_fresh_build():
    assert exercises_up_to_date(SOLUTIONS_DIR, EXERCISES_DIR) == []


def test_every_solution_module_has_a_stub_without_solution_code():
    for solution in SOLUTIONS_DIR.glob("*.py"):
        stub = (EXERCISES_DIR / solution.name).read_text()
        assert "BEGIN SOLUTION" not in stub and "END SOLUTION" not in stub
        assert "not implemented yet" in stub
        ast.parse(stub)


SOURCE = textwrap.dedent('''\
    class Model:
        def __init__(self):
            super().__init__()
            # BEGIN SOLUTION
            self.layer = 1
            # END SOLUTION

        def call(self, x):
            """Docstring stays."""
            # BEGIN SOLUTION
            if x:
                return x
            return -x
            # END SOLUTION


    def relu(x):
        # BEGIN SOLUTION
        return max(x, 0)
        # END SOLUTION
''')


def test_blocks_become_one_raise_at_the_marker_indentation():
    stub = strip_solutions(SOURCE)
    assert '        raise NotImplementedError("Model.__init__: not implemented yet' in stub
    assert '        raise NotImplementedError("Model.call: not implemented yet' in stub
    assert '    raise NotImplementedError("relu: not implemented yet' in stub
    assert "super().__init__()" in stub and '"""Docstring stays."""' in stub
    assert "return max" not in stub and "self.layer = 1" not in stub
    namespace = {}
    exec(compile(stub, "stub", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="relu: not implemented yet"):
        namespace["relu"](1)


def test_text_without_markers_is_unchanged():
    assert strip_solutions("x = 1\n") == "x = 1\n"


@pytest.mark.parametrize("source,problem", [
    ("def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    pass\n    # END SOLUTION\n", "nested"),
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n", "never closed"),
    ("def f():\n    return 1\n    # END SOLUTION\n", "without a matching"),
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n  # END SOLUTION\n", "indented differently"),
    ("def f():\n    #BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n", "malformed"),
    ("def f():\n    # begin solution\n    return 1\n    # END SOLUTION\n", "malformed"),
    ("def f():\n    # BEGIN SOLUTION\n    # END SOLUTION\n", "empty"),
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n    # END SOLUTION\n", "without a matching"),
])
def test_malformed_markers_fail_loudly_with_the_line(source, problem):
    with pytest.raises(MarkerError, match=problem) as error:
        strip_solutions(source, "bad.py")
    assert "bad.py:" in str(error.value)


def test_a_stub_that_would_not_parse_is_rejected():
    source = "def f():\n    x = (1,\n    # BEGIN SOLUTION\n    2)\n    # END SOLUTION\n"
    with pytest.raises(MarkerError, match="does not parse"):
        strip_solutions(source, "bad.py")


def test_build_check_command_reports_up_to_date():
    from grader.cli import main

    assert main(["build", "--check"]) == 0
