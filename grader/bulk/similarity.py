"""Which students' code is most alike, module by module (``course similarity``, ``course grade --similarity``).

Every entry of ``SUBMISSIONS`` is found and staged as ``course grade`` does
(``grader.bulk.submissions``: folders, zips, notebooks; ids from the entries' names), and
each exercise module is read **as text** (never imported). For every module, every pair
of students is compared with copydetect (``CodeFingerprint`` + ``compare_files``'s shares: the
code is tokenized, names become ``V``/``F``/``O``, strings ``S``, comments and
whitespace vanish; then every ``NOISE``-character k-gram is hashed, window 1, so the
result depends on nothing but the code). The module's stub in ``exercises/`` is
boilerplate: its k-grams are dropped, so the docstrings and signatures everyone starts
from match nobody, and two untouched stubs score 0.

A pair's **score** is ``min(share_a, share_b)``, where ``share_a`` is the part of A's own
code (beyond the stub) that matches B's: both students' code is mostly the other's. (The
larger of the two shares reaches 1.000 between honest variants: the float64 variant's
``convolution.py`` lies entirely inside the reference's. ``bench/similarity_thresholds.py``
prints both.) Only pairs at or above the module's threshold are reported, at most
``TOP_PAIRS`` per module, each with its matching code side by side; a student whose own
code in a module is under ``MIN_OWN_TOKENS`` tokens is not compared in it (too little to
tell copying from the obvious way to write it).

**Thresholds, measured** (``bench/similarity_thresholds.py``, 2026-12-04; scores of honest
pairs: every pair of the correct-variants corpus' variants of a module, and each variant
with the reference; disguised copies: the reference and every variant passed through
``tests/corpus/disguise.py``, which renames the locals, rewrites and moves the comments and
reorders the blank lines, scored against their original):

    module          honest pairs  honest min  honest max  disguised min  threshold
    activations               15       0.485       0.860          1.000       0.93
    convolution               15       0.809       0.982          1.000       0.99
    pooling                    6       0.821       0.905          1.000       0.95
    preprocessing             15       0.829       0.987          1.000       0.995
    model                      1       0.193       0.193          1.000       excluded
    training                   3       0.237       0.897          1.000       0.95
    keras_model                1       0.171       0.171          1.000       excluded

The corpus' variants keep the reference's argument checks (they differ in style, not in
what they accept), so its honest pairs share far more code than independent students
would; the thresholds are therefore high, and conservative: a copy edited on more than a
few percent of its tokens falls below them. Copydetect's filtering makes renaming, comments
and blank lines invisible, so a disguised copy scores exactly 1.000. ``model`` and
``keras_model`` are not judged: the corpus holds one honest pair of each (no basis for a
threshold), and what a student writes there (178 and 132 tokens of own code in the reference) is a handful of lines that
the docstrings dictate layer by layer, so independent students write the same tokens.
"""

from __future__ import annotations

import io
import itertools
import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from grader.atomic import write_json_atomic, write_text_atomic
from grader.bulk.layout import SIMILARITY_DIR, SIMILARITY_HTML, SIMILARITY_JSON
from grader.bulk.screen import MAX_PLAUSIBLE_BYTES
from grader.bulk.submissions import InvalidSubmission, discover, stage
from grader.paths import EXERCISE_MODULES, EXERCISES_DIR

#: copydetect's noise (= guarantee) threshold: k-grams of this many filtered characters.
NOISE = 25
#: Winnowing window: 1 keeps every k-gram (``guarantee_t == noise_t``), so no hash order matters.
WINDOW = 1
#: Score at or above which a pair is reported, per judged module (measured: see above).
THRESHOLDS: dict[str, float] = {
    "activations": 0.93,
    "convolution": 0.99,
    "pooling": 0.95,
    "preprocessing": 0.995,
    "training": 0.95,
}
#: Modules not judged, and why.
EXCLUDED: dict[str, str] = {
    "model": "too small to judge: a few lines the docstring dictates layer by layer (one honest pair measured)",
    "keras_model": "too small to judge: a few lines the docstring dictates layer by layer (one honest pair measured)",
}
#: A student with fewer tokens of their own code (beyond the stub) in a module is not compared in it.
MIN_OWN_TOKENS = 200
TOP_PAIRS = 10
MAX_BLOCKS = 6  # matching blocks shown per pair (the longest)
MAX_BLOCK_LINES = 40  # lines shown per side of a block (its first and last ones)
MIN_BLOCK_CHARS = 10  # shorter matching stretches (of filtered code) are not shown


@dataclass
class Side:
    """One student's lines of a matching block: ``[(number, [(text, matched), ...]), ...]``;
    a longer block keeps its first and last lines, ``(None, lines left out)`` between them."""

    first_line: int
    last_line: int
    lines: list[tuple[int | None, list[tuple[str, bool]] | int]] = field(default_factory=list)


@dataclass
class Block:
    a: Side
    b: Side
    chars: int  # matched characters in A's code


@dataclass
class Pair:
    a: str
    b: str
    score: float
    share_a: float
    share_b: float
    blocks: list[Block] = field(default_factory=list)

    def to_json(self) -> dict:
        blocks = [{"a_lines": [block.a.first_line, block.a.last_line],
                   "b_lines": [block.b.first_line, block.b.last_line], "chars": block.chars}
                  for block in self.blocks]
        return {"a": self.a, "b": self.b, "score": round(self.score, 4), "share_a": round(self.share_a, 4),
                "share_b": round(self.share_b, 4), "blocks": blocks}


@dataclass
class ModuleResult:
    module: str
    threshold: float | None
    excluded: str | None = None
    students: int = 0  # students with enough code of their own in the module
    too_small: int = 0  # students with some code of their own, under MIN_OWN_TOKENS
    pairs_compared: int = 0
    pairs_above: int = 0
    highest: float | None = None
    pairs: list[Pair] = field(default_factory=list)

    def to_json(self) -> dict:
        data = asdict(self)
        data["highest"] = None if self.highest is None else round(self.highest, 4)
        data["pairs"] = [pair.to_json() for pair in self.pairs]
        return data


# -- reading the class ------------------------------------------------------------------------

def collect(submissions: Path, skip: Path | None = None) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """``({id: {module: source}}, {id: why it has no code})`` for every entry of ``submissions``,
    staged as ``course grade`` stages it and read as text (never imported), each module cut
    at the screen's ``MAX_PLAUSIBLE_BYTES`` (a real one is under 20 KB; a bigger one is flagged)."""
    codes: dict[str, dict[str, str]] = {}
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="course-similarity-") as scratch:
        for index, entry in enumerate(discover(Path(submissions), skip=skip)):
            dest = Path(scratch) / str(index)
            try:
                stage(entry, dest)
            except InvalidSubmission as error:
                skipped[entry.id] = str(error)
                continue
            codes[entry.id] = {name: _text((dest / f"{name}.py").read_bytes()[:MAX_PLAUSIBLE_BYTES])
                               for name in EXERCISE_MODULES if (dest / f"{name}.py").is_file()}
    return codes, skipped


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")


# -- comparing ---------------------------------------------------------------------------------

def fingerprint(module: str, source: str, boilerplate: np.ndarray | None = None):
    """copydetect's ``CodeFingerprint`` of ``source`` (a ``<module>.py``), boilerplate removed."""
    from copydetect import CodeFingerprint

    return CodeFingerprint(f"{module}.py", NOISE, WINDOW, boilerplate, fp=io.StringIO(source))


def boilerplate(module: str, stubs: Path = EXERCISES_DIR) -> np.ndarray:
    """The k-gram hashes of the module's stub (every one of them: window 1)."""
    path = Path(stubs) / f"{module}.py"
    if not path.is_file():
        return np.array([], dtype=np.int64)
    return np.unique(np.array(sorted(fingerprint(module, _text(path.read_bytes())).hashes), dtype=np.int64))


def pair_shares(first, second) -> tuple[float, float]:
    """``(share of first's own code matching second, share of second's matching first)``."""
    from copydetect import compare_files

    _, (share_a, share_b), _ = compare_files(first, second)
    return float(share_a), float(share_b)


def pair_score(first, second) -> float:
    """A pair's score: the smaller of the two shares (see the module docstring)."""
    return min(pair_shares(first, second))


class Kgrams:
    """A fingerprint's k-grams as arrays, to score many pairs fast: ``shares(a, b)`` is
    ``compare_files``'s two similarities, computed with NumPy instead of per-hash Python
    loops (tests/test_similarity.py checks they are equal on every corpus pair)."""

    def __init__(self, print_) -> None:
        self.print = print_
        found = [(h, p) for h, positions in print_.hash_idx.items() for p in positions]
        self.hashes = np.array([h for h, _ in found], dtype=np.int64)
        self.positions = np.array([p for _, p in found], dtype=np.int64)
        self.unique = np.unique(self.hashes)
        self.coverage = float(print_.token_coverage)
        self.size = len(print_.filtered_code)

    def overlap(self, other: "Kgrams") -> int:
        """Characters of this code inside a k-gram that ``other`` has too."""
        if not len(other.unique) or not len(self.hashes):
            return 0
        found = np.minimum(np.searchsorted(other.unique, self.hashes), len(other.unique) - 1)
        starts = self.positions[other.unique[found] == self.hashes]
        if not len(starts):
            return 0
        length = self.size + self.print.k + 1
        edges = np.bincount(starts, minlength=length) - np.bincount(starts + self.print.k, minlength=length)
        return int(np.count_nonzero(np.cumsum(edges)))


def shares(first: Kgrams, second: Kgrams) -> tuple[float, float]:
    """The same two numbers as ``pair_shares(first.print, second.print)``, faster."""
    overlap = first.overlap(second)
    if not overlap:
        return 0.0, 0.0
    return overlap / first.coverage, second.overlap(first) / second.coverage


def compare_module(module: str, sources: dict[str, str], stubs: Path = EXERCISES_DIR,
                   top: int = TOP_PAIRS) -> ModuleResult:
    """Every pair of students in one module; the pairs at or above its threshold, best first."""
    if module in EXCLUDED or module not in THRESHOLDS:
        return ModuleResult(module, None, EXCLUDED.get(module, "no threshold measured"))
    result = ModuleResult(module, THRESHOLDS[module])
    common = boilerplate(module, stubs)
    prints = {ident: fingerprint(module, source, common) for ident, source in sorted(sources.items())}
    own = {ident: Kgrams(print_) for ident, print_ in prints.items() if print_.token_coverage >= MIN_OWN_TOKENS}
    result.students = len(own)
    result.too_small = sum(1 for print_ in prints.values() if 0 < print_.token_coverage < MIN_OWN_TOKENS)
    above: list[Pair] = []
    for a, b in itertools.combinations(sorted(own), 2):
        share_a, share_b = shares(own[a], own[b])
        score = min(share_a, share_b)
        result.pairs_compared += 1
        result.highest = score if result.highest is None else max(result.highest, score)
        if score >= result.threshold:
            above.append(Pair(a, b, score, share_a, share_b))
    above.sort(key=lambda pair: (-pair.score, pair.a, pair.b))
    result.pairs_above = len(above)
    result.pairs = above[:top]
    for pair in result.pairs:
        pair.blocks = matching_blocks(own[pair.a].print, own[pair.b].print, common)
    return result


def compare_class(codes: dict[str, dict[str, str]], stubs: Path = EXERCISES_DIR,
                  top: int = TOP_PAIRS) -> list[ModuleResult]:
    return [compare_module(module, {ident: modules[module] for ident, modules in codes.items() if module in modules},
                           stubs, top) for module in EXERCISE_MODULES]


# -- the matching code, side by side -------------------------------------------------------------

def matching_blocks(first, second, common: np.ndarray | None = None) -> list[Block]:
    """The code the two share, as line ranges of each one's own text: runs of shared k-grams,
    cut where the stub's code lies between (a docstring, a signature), the longest
    ``MAX_BLOCKS`` in A's order."""
    k = first.k
    anchors = sorted((min(first.hash_idx[h]), min(second.hash_idx[h])) for h in first.hashes & second.hashes)
    runs: list[list[tuple[int, int]]] = []  # anchors (a, b) whose k-grams follow each other in both
    for a, b in anchors:
        if runs and 0 < a - runs[-1][-1][0] < k and 0 < b - runs[-1][-1][1] < k:
            runs[-1].append((a, b))
        else:
            runs.append([(a, b)])
    runs = _merged(runs, first.filtered_code, second.filtered_code)
    own_a, own_b = _own(first, common), _own(second, common)
    spans = []
    for run in runs:
        for start, end in _stretches(own_a, run[0][0], run[-1][0] + k):
            inside = [(a, b) for a, b in run if start - k < a < end]
            span_b = _trim(own_b, min(b for _, b in inside), max(b for _, b in inside) + k)
            if end - start >= MIN_BLOCK_CHARS and span_b:
                spans.append((_raw_span(first, start, end), _raw_span(second, *span_b)))
    spans = sorted(spans, key=lambda span: span[0][1] - span[0][0], reverse=True)[:MAX_BLOCKS]
    return [Block(_side(first.raw_code, *span_a), _side(second.raw_code, *span_b), span_a[1] - span_a[0])
            for span_a, span_b in sorted(spans)]


def _merged(runs: list[list[tuple[int, int]]], code_a: str, code_b: str) -> list[list[tuple[int, int]]]:
    """Runs joined where the code between them is the same in both (copydetect drops a k-gram
    that occurs twice in one file, which cuts a copied stretch around repeated code)."""
    merged: list[list[tuple[int, int]]] = []
    for run in runs:
        if merged:
            (a_last, b_last), (a_next, b_next) = merged[-1][-1], run[0]
            if a_next > a_last and b_next > b_last and code_a[a_last:a_next] == code_b[b_last:b_next]:
                merged[-1].extend(run)
                continue
        merged.append(list(run))
    return merged


def _stretches(own: np.ndarray, start: int, end: int) -> list[tuple[int, int]]:
    """The maximal stretches of the student's own code within ``[start, end)``."""
    flags = np.concatenate([[False], own[start:end], [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(flags))
    return [(start + int(a), start + int(b)) for a, b in zip(edges[::2], edges[1::2])]


def _own(print_, common: np.ndarray | None) -> np.ndarray:
    """Which filtered characters lie in no k-gram of the stub (the student's own code)."""
    from copydetect.utils import hashed_kgrams

    own = np.ones(len(print_.filtered_code), dtype=bool)
    if common is not None and len(common) and len(print_.filtered_code) >= print_.k:
        for start in np.flatnonzero(np.isin(hashed_kgrams(print_.filtered_code, print_.k), common)):
            own[start:start + print_.k] = False
    return own


def _trim(own: np.ndarray, start: int, end: int) -> tuple[int, int] | None:
    inside = np.flatnonzero(own[start:end])
    return (start + int(inside[0]), start + int(inside[-1]) + 1) if len(inside) else None


def _raw_index(print_, index: int) -> int:
    """Where filtered character ``index`` is in the raw code (copydetect's own translation)."""
    offsets = print_.offsets
    if len(offsets) == 0:
        return index
    row = min(int(np.searchsorted(offsets[:, 0], index)), len(offsets) - 1)
    return min(int(index + offsets[row, 1]), len(print_.raw_code))


def _raw_span(print_, start: int, end: int) -> tuple[int, int]:
    raw_start, raw_end = _raw_index(print_, start), _raw_index(print_, end)
    while raw_end > raw_start and print_.raw_code[raw_end - 1].isspace():
        raw_end -= 1
    return raw_start, raw_end


def _side(text: str, start: int, end: int) -> Side:
    first_line = text.count("\n", 0, start) + 1
    last_line = text.count("\n", 0, max(start, end - 1)) + 1
    side = Side(first_line, last_line)
    count = last_line - first_line + 1
    head = count if count <= MAX_BLOCK_LINES else MAX_BLOCK_LINES // 2
    tail_from = last_line - (MAX_BLOCK_LINES - head) + 1 if count > MAX_BLOCK_LINES else last_line + 1
    line_start = text.rfind("\n", 0, start) + 1
    for number in range(first_line, last_line + 1):
        line_end = text.find("\n", line_start)
        line_end = len(text) if line_end < 0 else line_end
        if number < first_line + head or number >= tail_from:
            hit_start, hit_end = max(start, line_start), min(end, line_end)
            parts = [(text[line_start:hit_start], False), (text[hit_start:hit_end], True),
                     (text[hit_end:line_end], False)] if hit_start < hit_end else [(text[line_start:line_end], False)]
            side.lines.append((number, [part for part in parts if part[0]]))
        elif number == first_line + head:
            side.lines.append((None, tail_from - number))
        line_start = line_end + 1
    return side


# -- the report ------------------------------------------------------------------------------------

def report_json(results: list[ModuleResult], students: int, skipped: dict[str, str]) -> dict:
    return {
        "score": "min(share_a, share_b): the smaller part of each student's own code (beyond the stub) "
                 f"that matches the other's (copydetect, k-grams of {NOISE} filtered characters)",
        "noise": NOISE,
        "min_own_tokens": MIN_OWN_TOKENS,
        "students": students,
        "skipped": [{"id": ident, "reason": reason} for ident, reason in sorted(skipped.items())],
        "modules": [result.to_json() for result in results],
    }


def report_html(results: list[ModuleResult], students: int, skipped: dict[str, str]) -> str:
    from grader.bulk.dashboard import render

    return render("similarity.html.j2", results=results, students=students,
                  skipped=sorted(skipped.items()), noise=NOISE, min_own_tokens=MIN_OWN_TOKENS)


def write_report(submissions: Path, out: Path, skip: Path | None = None, stubs: Path = EXERCISES_DIR,
                 top: int = TOP_PAIRS) -> dict:
    """Compare the class in ``submissions``; write ``out/similarity.html`` and ``out/similarity.json``;
    return the JSON."""
    codes, skipped = collect(submissions, skip=skip)
    results = compare_class(codes, stubs, top)
    report = report_json(results, len(codes), skipped)
    out = Path(out)
    write_json_atomic(out / SIMILARITY_JSON, report)
    write_text_atomic(out / SIMILARITY_HTML, report_html(results, len(codes), skipped))
    return report


def read_summary(results: Path) -> dict | None:
    """What the class summary shows of ``RESULTS/similarity/similarity.json`` (None without one):
    the best pairs, the report's relative address, the modules not judged."""
    try:
        report = json.loads((Path(results) / SIMILARITY_DIR / SIMILARITY_JSON).read_text())
        excluded = [module["module"] for module in report["modules"] if module.get("excluded")]
        return {"report": f"{SIMILARITY_DIR}/{SIMILARITY_HTML}", "pairs": top_pairs(report), "excluded": excluded}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def top_pairs(report: dict, count: int = TOP_PAIRS) -> list[dict]:
    """The best reported pairs over every module of a ``similarity.json``: module, a, b, score."""
    pairs = [{"module": module["module"], "a": pair["a"], "b": pair["b"], "score": pair["score"]}
             for module in report.get("modules", []) for pair in module.get("pairs", [])]
    return sorted(pairs, key=lambda pair: (-pair["score"], pair["module"], pair["a"], pair["b"]))[:count]


__all__ = ["collect", "compare_module", "compare_class", "fingerprint", "boilerplate", "pair_shares", "pair_score", "Kgrams", "shares",
           "matching_blocks", "write_report", "report_json", "top_pairs", "read_summary", "THRESHOLDS", "EXCLUDED", "NOISE",
           "MIN_OWN_TOKENS"]
