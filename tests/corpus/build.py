"""Materialize a corpus entry as a submission folder: a copy of ``solutions/`` plus its change.

An entry (a ``Mistake`` or a ``Variant``) says, per module, either the full source that
replaces the module or a list of exact ``(old, new)`` text replacements. Every ``old``
must occur exactly once in the module as it stands when the replacement is applied, so a
change to ``solutions/`` that moves the text breaks the corpus loudly instead of silently
grading the reference.

``judge`` reads a mistake's ``results.json``: caught (points lost in its own exercise),
isolated (no other exercise lost a point) and hinted (every failing check of its
exercise, the accuracy bars aside, matches the entry's hint). ``grade_all`` grades many
entries, two grader processes at a time, sharing accuracy-bar runs through a cache.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from grader.paths import EXERCISE_MODULES, SOLUTIONS_DIR


class CorpusError(ValueError):
    """A corpus entry does not apply to the current ``solutions/``."""


def apply_replacements(source: str, replacements: Iterable[tuple[str, str]], where: str) -> str:
    """``source`` with each ``(old, new)`` applied in turn; each ``old`` must occur exactly once."""
    for index, (old, new) in enumerate(replacements, start=1):
        count = source.count(old)
        if count != 1:
            raise CorpusError(
                f"{where}: replacement {index} expects its text exactly once, found it {count} times "
                f"(did solutions/ change?):\n{old}"
            )
        if old == new:
            raise CorpusError(f"{where}: replacement {index} changes nothing")
        source = source.replace(old, new)
    return source


def changed_sources(entry, solutions: Path = SOLUTIONS_DIR) -> dict[str, str]:
    """``{module: new source}`` for every module the entry changes."""
    sources: dict[str, str] = {}
    files: Mapping[str, str] = getattr(entry, "files", {}) or {}
    changes: Mapping[str, tuple] = entry.module_changes()
    for module in set(files) | set(changes):
        if module not in EXERCISE_MODULES:
            raise CorpusError(f"{entry.id}: {module!r} is not an exercise module")
        source = files.get(module) or (solutions / f"{module}.py").read_text()
        if module in changes:
            source = apply_replacements(source, changes[module], f"{entry.id} ({module}.py)")
        sources[module] = source
    if not sources:
        raise CorpusError(f"{entry.id}: the entry changes nothing")
    return sources


def materialize(entry, folder: Path, solutions: Path = SOLUTIONS_DIR) -> Path:
    """Write the submission of ``entry`` to ``folder`` (created; must not exist) and return it."""
    folder = Path(folder)
    sources = changed_sources(entry, solutions)
    folder.mkdir(parents=True)
    for module in EXERCISE_MODULES:
        shutil.copyfile(solutions / f"{module}.py", folder / f"{module}.py")
    for module, source in sources.items():
        (folder / f"{module}.py").write_text(source)
    return folder


# --- judging a graded entry ------------------------------------------------------------

#: The rubric: points per exercise, accuracy bars included (100 in all).
RUBRIC = {"activations": 8, "convolution": 20, "pooling": 10, "preprocessing": 14,
          "model": 14, "training": 22, "keras_model": 12}

#: The accuracy bars' titles ("...trains to 98% test accuracy within 5 epochs").
BAR_TITLE = re.compile(r"\d+% test accuracy within \d+ epochs")


def is_bar(test: dict) -> bool:
    """Whether a ``results.json`` test entry is an accuracy bar."""
    return bool(BAR_TITLE.search(test["name"]))


@dataclass
class Verdict:
    """How the grader treated one mistake."""

    lost: dict[str, float]  # exercise -> points lost
    messages: list[str]  # failing messages of the mistake's own exercise (bars excluded)
    bar_messages: list[str]  # failing accuracy bars of the mistake's own exercise
    caught: bool  # lost points in its own exercise
    isolated: bool  # lost no points anywhere else
    hinted: bool  # every failing check of its exercise (bars excluded) matches the entry's hint

    def explain(self) -> str:
        lines = [f"points lost per exercise: {self.lost}"]
        lines += [f"--- failing message {i}:\n{text}" for i, text in enumerate(self.messages, 1)]
        lines += [f"--- failing accuracy bar:\n{text}" for text in self.bar_messages]
        return "\n".join(lines)


def points_lost(results: dict) -> dict[str, float]:
    """``{exercise: points lost}`` for every exercise that lost points."""
    exercises = results["extra_data"]["exercises"]
    return {name: round(entry["max_score"] - entry["score"], 3) for name, entry in exercises.items()
            if entry["max_score"] - entry["score"] > 1e-9}


def judge(mistake, results: dict) -> Verdict:
    """Judge a mistake's ``results.json`` (Gradescope schema, as the grader writes it).

    "Hinted" asks every failing check of the mistake's exercise to match the entry's
    hint. Accuracy bars are left out of it: a bar reports the accuracy reached (or the
    error) and which half of the run failed, while the checks name the mistake.
    """
    lost = points_lost(results)
    own = [test for test in results["tests"]
           if test["status"] != "passed" and (test.get("tags") or [None])[0] == mistake.exercise]
    messages = [test["output"] for test in own if not is_bar(test)]
    pattern = re.compile(mistake.hint, re.IGNORECASE | re.DOTALL)
    return Verdict(
        lost=lost,
        messages=messages,
        bar_messages=[test["output"] for test in own if is_bar(test)],
        caught=lost.get(mistake.exercise, 0) > 0,
        isolated=set(lost) <= {mistake.exercise},
        hinted=bool(messages) and all(pattern.search(text) for text in messages),
    )


def bar_content_key(entry, solutions: Path = SOLUTIONS_DIR) -> tuple[str, ...]:
    """The content of the modules the accuracy bars train (model, training, keras_model).

    Submissions with the same key share every bar run through a training cache, so the
    first one graded trains and the others replay its verdict.
    """
    sources = changed_sources(entry, solutions)
    return tuple(sources.get(name) or (solutions / f"{name}.py").read_text()
                 for name in ("model", "training", "keras_model"))


def grade_all(entries, root: Path, *grader_args: str, jobs: int = 2, bars_first: bool = False,
              on_done=None) -> dict:
    """Materialize every entry under ``root`` and grade it, ``jobs`` grader processes at a time.

    Returns ``{entry.id: GradingRun}`` (or the exception that grading raised). With
    ``bars_first`` (full grading with a shared ``--train-cache``), the first entry of each
    distinct (model.py, training.py) content is graded before the others of that content
    start, so they replay its CNN bar from the cache instead of training the same thing at
    the same time; the content shared by most entries goes first. ``on_done(entry,
    outcome, seconds)`` is called as each entry finishes.
    """
    import time
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    from tests.conftest import run_grader

    root = Path(root)

    def grade(entry):
        started = time.perf_counter()
        folder = root / entry.id
        try:
            outcome = run_grader(materialize(entry, folder / "submission"), folder, *grader_args)
        except Exception as error:  # noqa: BLE001 - reported by the entry's own test
            outcome = error
        if on_done:
            on_done(entry, outcome, time.perf_counter() - started)
        return outcome

    groups: dict = {}
    for entry in entries:
        groups.setdefault(bar_content_key(entry)[:2] if bars_first else entry.id, []).append(entry)
    # The biggest group first: its followers can start as soon as its first entry is done.
    queue = sorted(groups.values(), key=len, reverse=True)
    results: dict = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        running = {pool.submit(grade, group[0]): (group[0], group[1:]) for group in queue}
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                entry, followers = running.pop(future)
                results[entry.id] = future.result()
                running.update({pool.submit(grade, follower): (follower, []) for follower in followers})
    return results
