"""The measurements behind the similarity thresholds (``grader.bulk.similarity.THRESHOLDS``).

Per exercise module:

- **honest pairs**: the reference (``solutions/``) and every correct variant that changes
  the module (``correct_variants.VARIANTS``, materialised by ``build.changed_sources``), all
  written independently of each other in the sense the corpus means; every pair of them.
- **disguised copies**: each of those sources passed through ``disguise.disguise`` (locals
  renamed, comments rewritten and moved, blank lines reordered), scored against its original.

Scores are the bulk grader's own (``grader.bulk.similarity``: copydetect, the stub as
boilerplate). ``tests/test_similarity.py`` asserts the thresholds on them and
``bench/similarity_thresholds.py`` prints them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

from grader.bulk.similarity import boilerplate, fingerprint, pair_shares
from grader.paths import EXERCISE_MODULES, SOLUTIONS_DIR
from tests.corpus.build import changed_sources
from tests.corpus.correct_variants import VARIANTS
from tests.corpus.disguise import disguise


@dataclass(frozen=True)
class Scored:
    a: str
    b: str
    score: float  # min of the two shares: the bulk grader's score
    larger: float  # max of the two shares (not used: see grader.bulk.similarity)


@lru_cache(maxsize=None)
def honest_sources(module: str) -> dict[str, str]:
    """``{"reference" or variant id: source}`` for every honest version of ``module``."""
    sources = {"reference": (SOLUTIONS_DIR / f"{module}.py").read_text()}
    for variant in VARIANTS:
        changed = changed_sources(variant)
        if module in changed:
            sources[variant.id] = changed[module]
    return sources


@lru_cache(maxsize=None)
def _common(module: str):
    return boilerplate(module)


@lru_cache(maxsize=None)
def _print(module: str, source: str):
    return fingerprint(module, source, _common(module))


def _scored(module: str, a: str, source_a: str, b: str, source_b: str) -> Scored:
    shares = pair_shares(_print(module, source_a), _print(module, source_b))
    return Scored(a, b, min(shares), max(shares))


@lru_cache(maxsize=None)
def honest_pairs(module: str) -> tuple[Scored, ...]:
    sources = honest_sources(module)
    return tuple(_scored(module, a, sources[a], b, sources[b]) for a, b in itertools.combinations(sources, 2))


@lru_cache(maxsize=None)
def disguised_copies(module: str) -> tuple[Scored, ...]:
    return tuple(_scored(module, name, source, f"disguised {name}", disguise(source))
                 for name, source in honest_sources(module).items())


MODULES = EXERCISE_MODULES

__all__ = ["Scored", "honest_sources", "honest_pairs", "disguised_copies", "MODULES"]
