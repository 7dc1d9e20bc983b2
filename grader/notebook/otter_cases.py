"""The otter autograder's test cases at run time: replay the grader's verdict, refuse foreign cells.

``otter_case(env, exercise, title)`` is what each case of the otter test files calls
(``grader.authoring.otter_build`` writes them): it passes or fails like the grader check
``title`` did in the isolated run that the autograder's otter plugin
(``grader.notebook.otter_plugin``) made of the submission before otter ran anything. It
grades nothing itself and no code of the submission ever runs where it is called.

A withheld check (visibility other than ``"visible"``, ``grader.check_spec``) is named in
its case by ``withheld_key(title)``, a digest of its title, so neither the test file nor
what otter shows of it (the failing source line, the message) carries its title; such a
case fails with ``WITHHELD_FAILURE`` only, never the grader's message.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

#: Set by the otter plugin (``grader.notebook.otter_plugin``) to the file of its verdict, for the kernel.
VERDICT_ENV = "COURSE_OTTER_VERDICT"
#: The one cell otter executes in place of the submission (``grader.notebook.otter_plugin``).
PLACEHOLDER_CELL = ("# grader.notebook.otter_plugin: the submission's cells were removed; no code of the "
                    "submission runs in this kernel")
#: The verdict the otter plugin hands over in otter's own process (``use_verdict``).
_TRUSTED_VERDICT: dict | None = None
#: How the case of a withheld check names it (``withheld_key``), and what it says when it fails.
WITHHELD_PREFIX = "withheld:"
WITHHELD_FAILURE = "failed (a check your instructor runs)"


def withheld_key(title: str) -> str:
    """``"withheld:<16 hex digits>"``: how an otter case names a withheld check (not by its title)."""
    return WITHHELD_PREFIX + hashlib.sha256(title.encode()).hexdigest()[:16]


def use_verdict(verdict: dict | None) -> None:
    """Make ``otter_case`` report ``verdict`` (the plugin, in otter's process); ``None`` ends it."""
    global _TRUSTED_VERDICT
    _TRUSTED_VERDICT = verdict


def _cell_pattern(template: str) -> re.Pattern:
    """A template of otter's (``{name}`` fields are one-line values) as a regular expression."""
    return re.compile(r"[^\n]*".join(re.escape(piece) for piece in re.split(r"\{\w+\}", template.strip())))


def foreign_cells(env: dict) -> list[str]:
    """Cells the kernel ran that are neither otter's own nor the plugin's placeholder.

    In otter's kernel ``env`` is the notebook's global namespace, whose ``In`` is the
    kernel's input history: with the plugin it holds otter's set-up cells, the
    placeholder and otter's cell that runs the test files, nothing else.
    """
    from otter.execute.preprocessor import EXPORT_CELL_SOURCE, INIT_CELL_SOURCE

    history = env.get("In") if isinstance(env, dict) else None
    if not isinstance(history, list):
        return ["(no input history: not otter's kernel)"]
    allowed = [_cell_pattern(INIT_CELL_SOURCE), _cell_pattern(EXPORT_CELL_SOURCE),
               _cell_pattern('import sys\nsys.path.append(r"{cwd}")'), re.compile(re.escape(PLACEHOLDER_CELL))]
    cells = [str(cell).strip() for cell in history]
    foreign = [cell for cell in cells if cell and not any(pattern.fullmatch(cell) for pattern in allowed)]
    if PLACEHOLDER_CELL not in cells:
        foreign.append("(the placeholder cell of grader.notebook.otter_plugin did not run)")
    return foreign


def _kernel_verdict(env: dict) -> dict:
    foreign = foreign_cells(env)
    if foreign:
        raise AssertionError("the submission's own code ran in the grading kernel, so no case can pass "
                             f"(is grader.notebook.otter_plugin in otter_config.json?): {foreign[0][:200]!r}")
    path = os.environ.get(VERDICT_ENV)
    if not path:
        raise AssertionError("no verdict of the grader: grader.notebook.otter_plugin did not run")
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise AssertionError(f"the grader's verdict cannot be read: {error}") from None


def otter_case(env: dict, exercise: str, title: str) -> None:
    """Pass if grader check ``title`` of ``exercise`` (or the withheld check whose
    ``withheld_key`` is ``title``) passed on the submission.

    What the cases of the otter test files call. The outcome is the verdict of the
    grader's isolated run that ``grader.notebook.otter_plugin`` made before otter started its
    kernel: in otter's own process the one handed over with ``use_verdict``; in the
    kernel the one in ``$COURSE_OTTER_VERDICT``, and only if the kernel ran no cell but
    otter's and the plugin's (``foreign_cells``). Raises only ``AssertionError`` (otter
    scores that case 0 and shows the message).
    """
    try:
        verdict = _TRUSTED_VERDICT if _TRUSTED_VERDICT is not None else _kernel_verdict(env)
        if verdict.get("error"):
            raise AssertionError(f"the grader could not grade this submission: {verdict['error']}")
        withheld = title.startswith(WITHHELD_PREFIX)
        for test in verdict.get("tests", []):
            name = str(test.get("name"))
            own = name.split(": ", 1)[1] if name.startswith(f"{exercise}: ") else None
            if own is not None and (withheld_key(own) if withheld else own) == title:
                if test.get("status") == "passed":
                    return
                raise AssertionError(WITHHELD_FAILURE if withheld else test.get("output") or "failed")
        if withheld:
            raise AssertionError("the grader did not report this check (a check your instructor runs)")
        tail = str(verdict.get("output", ""))[-2000:]
        raise AssertionError(f"the grader did not report the check {title!r}:\n{tail}")
    except AssertionError:
        raise
    except Exception as error:  # noqa: BLE001 - a malformed verdict fails the case, never otter
        raise AssertionError(f"the grader's verdict cannot be used: {error}") from None


__all__ = ["otter_case", "use_verdict", "foreign_cells", "withheld_key", "VERDICT_ENV", "PLACEHOLDER_CELL",
           "WITHHELD_FAILURE"]
