"""The similarity thresholds of ``course similarity``, measured on the correct-variants corpus.

For each exercise module: the scores of every honest pair (the reference and the correct
variants that change the module, ``tests/corpus/correct_variants.py``), the scores of
disguised copies (``tests/corpus/disguise.py``: locals renamed, comments rewritten and moved,
blank lines reordered) against their originals, and the threshold
``grader.bulk.similarity`` uses. A judged module needs every honest pair below its threshold
and every disguised copy at or above it. Prints the table (and, with ``--pairs``, every
pair's score); exits 1 if a threshold does not separate the two.

Usage: ``python bench/similarity_thresholds.py [--pairs]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.bulk.similarity import EXCLUDED, THRESHOLDS  # noqa: E402
from tests.corpus.similarity_pairs import MODULES, disguised_copies, honest_pairs  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", action="store_true", help="also print every pair's score")
    args = parser.parse_args(argv)
    started = time.monotonic()
    print(f"{'module':<15} {'honest pairs':>12} {'honest min':>10} {'honest max':>10} {'larger share max':>16} "
          f"{'disguised min':>13}  threshold")
    broken = []
    for module in MODULES:
        honest, disguised = honest_pairs(module), disguised_copies(module)
        low, high = min(p.score for p in honest), max(p.score for p in honest)
        larger = max(p.larger for p in honest)
        copied = min(p.score for p in disguised)
        threshold = THRESHOLDS.get(module)
        shown = "excluded" if module in EXCLUDED else f"{threshold:g}"
        print(f"{module:<15} {len(honest):>12} {low:>10.3f} {high:>10.3f} {larger:>16.3f} {copied:>13.3f}  {shown}")
        if threshold is not None and not high < threshold <= copied:
            broken.append(module)
        if args.pairs:
            for pair in sorted(honest, key=lambda p: -p.score):
                print(f"    honest     {pair.score:.3f} (larger share {pair.larger:.3f})  {pair.a} / {pair.b}")
            for pair in disguised:
                print(f"    disguised  {pair.score:.3f}  {pair.a}")
    print(f"score = min of the two shares; {time.monotonic() - started:.1f} s")
    if broken:
        print(f"the threshold does not separate honest pairs from disguised copies in: {', '.join(broken)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
