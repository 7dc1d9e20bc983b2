"""Which students train which accuracy bar: one training per bar key across a cluster.

Many students hand in the same model files, so many gradings need the same bar run
(``grader.checking.train_cache``: one entry per key). Before submitting a class to a
cluster, ``course grade`` stages each entry (into a scratch folder it removes) and computes
the keys of its bar runs (``bar_keys``: ``grader.checking.bar_scoring.run_key`` for each of
``BAR_RUNS``, the same keys the grading processes will use). ``waits_for`` then names, for
each entry, the earlier entries that first need one of its keys: an entry is started
only once those finished (``grader.bulk.cluster``), so it replays their cached runs
instead of waiting on the key's lock, and a cluster trains each key once.

The plan is only a hint for the scheduler: a grading process still claims and reads
the cache by content, so if a first entry fails, is retried or trains nothing (an
invalid submission), its dependants are graded correctly all the same.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from grader.bulk.submissions import Entry, InvalidSubmission, stage
from grader.check_spec import DEFAULT_SEED
from grader.checking.bar_scoring import BAR_RUNS, run_key
from grader.checking.train_cache import TrainCache


def bar_keys(entry: Entry, cache: TrainCache, scratch: Path, seed: int = DEFAULT_SEED) -> frozenset[str]:
    """The keys of ``entry``'s bar runs (none if it cannot be staged)."""
    folder = Path(scratch) / entry.id
    try:
        stage(entry, folder)
        return frozenset(run_key(cache, kind, seed, folder, model_from, trainer_from)
                         for kind, model_from, trainer_from in BAR_RUNS.values())
    except InvalidSubmission:
        return frozenset()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def waits_for(keys: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """Entry id -> the ids it must wait for: for each of its keys, the first entry (in
    ``keys``'s order) with that key, if not itself. Every wait points to an earlier entry,
    so the plan has no cycle."""
    first: dict[str, str] = {}
    for ident, own in keys.items():
        for key in own:
            first.setdefault(key, ident)
    return {ident: frozenset(first[key] for key in own) - {ident} for ident, own in keys.items()}


__all__ = ["bar_keys", "waits_for"]
