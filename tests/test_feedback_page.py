"""The feedback page (``grader.feedback_page``), for real: a partly wrong submission graded
by the real grader with ``--html``, the page opened in headless Chromium; the accuracy
bars' pictures, trained and replayed; ``course grade``'s ``feedback.html``; the renderer
on hidden checks and on hostile text; pictures of data that cannot be drawn.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from grader.bulk.student import Settings, grade_student
from grader.bulk.submissions import discover
from grader.checking.expectations import Comparison
from grader.feedback_page import render_page
from grader.feedback_page import figures as pictures
from grader.feedback_page.page import HIDDEN_CHECK
from grader.paths import SOLUTIONS_DIR
from tests.browser import view
from tests.conftest import run_grader, warm_grader
from tests.corpus.build import changed_sources
from tests.corpus.mistakes import BY_ID as MISTAKES

#: What a submission prints or raises to break out of the page.
INJECTIONS = ("<script>alert(1)</script>", "</td>", "<img src=x onerror=alert(2)>", "{{ 7*7 }}")
HOSTILE = " ".join(INJECTIONS)
COMPARISON = (pictures.INPUT, pictures.EXPECTED, pictures.ACTUAL, pictures.DIFFERENCE)
BAR_PICTURES = (pictures.CURVE, pictures.CONFUSION, pictures.MISCLASSIFIED)
#: Every element the page may hold: no script, frame, object, form, link, svg or base.
PAGE_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "header", "section", "article", "h1", "h2",
             "h3", "p", "strong", "span", "div", "ul", "li", "table", "thead", "tbody", "tr", "th", "td", "pre",
             "figure", "img", "figcaption", "details", "summary"}
HANDLERS = ("[onerror]", "[onload]", "[onclick]", "[onmouseover]", "[onfocus]")


def raise_hostile(source: str, function: str) -> str:
    """``source`` with ``function`` raising a ValueError whose message is ``HOSTILE``."""
    start = source.index(f"def {function}(")
    opening = source.index('"""', start)
    body = source.index('"""', opening + 3) + 3
    return source[:body] + f"\n    raise ValueError({HOSTILE!r})" + source[body:]


def partly_wrong(folder: Path) -> Path:
    """The solutions with conv2d's kernel flipped, pooling's window as large as its stride,
    normalize dividing by 256 and relu raising hostile text."""
    shutil.copytree(SOLUTIONS_DIR, folder)
    for mistake in ("conv_kernel_flipped", "normalize_by_256"):
        for module, source in changed_sources(MISTAKES[mistake]).items():
            (folder / f"{module}.py").write_text(source)
    pooling = (folder / "pooling.py").read_text()
    window = "            window = x[top : top + pool_size, left : left + pool_size, :]\n"
    assert pooling.count(window) == 1
    (folder / "pooling.py").write_text(pooling.replace(window, window.replace("pool_size", "stride")))
    (folder / "activations.py").write_text(raise_hostile((folder / "activations.py").read_text(), "relu"))
    return folder


class Elements(HTMLParser):
    """Every start tag of a page and its attributes."""

    def __init__(self, page: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def expect_inert(page: str) -> Elements:
    """Nothing on ``page`` can run or load anything: known elements only, no event-handler
    attribute, no link, every picture a data: PNG; the CSP forbids the rest anyway."""
    elements = Elements(page)
    assert {tag for tag, _ in elements.tags} <= PAGE_TAGS, {tag for tag, _ in elements.tags} - PAGE_TAGS
    for tag, attrs in elements.tags:
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        assert not {"href", "action", "srcset", "formaction", "background"} & set(attrs), (tag, attrs)
        if tag == "img":
            assert attrs["src"].startswith("data:image/png;base64,"), attrs["src"][:60]
            assert base64.b64decode(attrs["src"].split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
    assert "default-src 'none'" in page
    return elements


def look(page: Path, screenshot: Path, selectors: tuple[str, ...] = ()):
    """The page in Chromium: no console error, nothing fetched, no script, a real screenshot."""
    seen = view(page, screenshot, ("img", "script", "section.exercise", *HANDLERS, *selectors))
    assert seen.errors == [], seen.errors
    assert all(url.startswith(("file:", "data:")) for url in seen.requests), seen.requests
    assert seen.counts["script"] == 0 and all(seen.counts[handler] == 0 for handler in HANDLERS), seen.counts
    shot = screenshot.read_bytes()
    assert shot.startswith(b"\x89PNG") and len(shot) > 20_000, len(shot)
    assert seen.width >= 1000 and seen.height >= 800, (seen.width, seen.height)
    return seen


def test_a_partly_wrong_submission_gets_pictures_and_its_text_stays_text(tmp_path):
    page, sidecar = tmp_path / "feedback.html", tmp_path / "figures.json"
    run = run_grader(partly_wrong(tmp_path / "student"), tmp_path, "-k", "not bar", "--isolate",
                     "--html", str(page), "--figures", str(sidecar))
    assert run.returncode == 0, run.output[-3000:]
    html = page.read_text()
    figures = json.loads(sidecar.read_text())
    assert render_page(run.results, figures) == html  # the page course grade makes from the same files
    expect_inert(html)

    # The checks that show pictures: every failure on values of conv2d, max_pool2d, normalize
    # (not the hidden checks: the page shows those as "a check your instructor runs" only).
    hidden = {test["name"] for test in run.failed_checks() if test["visibility"] != "visible"}
    assert {name.split(":")[0] for name in hidden} == {"convolution", "pooling", "preprocessing"}, hidden
    failed = {test["name"]: test for test in run.failed_checks() if test["name"] not in hidden}
    shown = sorted(name for name, test in failed.items()
                   if re.match(r"(conv2d|max_pool2d|normalize)\(", test["output"]) and "values differ" in test["output"])
    assert [name.split(":")[0] for name in shown].count("convolution") == 5, shown  # every visible conv2d check
    assert {name.split(":")[0] for name in shown} == {"convolution", "pooling", "preprocessing"}, shown
    assert sorted(entry[0]["check"] for entry in figures.values()) == shown
    assert all([picture["title"] for picture in entry] == list(COMPARISON) for entry in figures.values())

    selectors = tuple(f'img[alt="{title}"]' for title in COMPARISON) + (
        "article.check.failed", "article.check.failed:has(img)", "pre.message")
    seen = look(page, tmp_path / "feedback.png", selectors)
    assert seen.counts["section.exercise"] == 7
    assert seen.counts["img"] == 4 * len(shown)
    assert all(seen.counts[f'img[alt="{title}"]'] == len(shown) for title in COMPARISON), seen.counts
    assert seen.counts["article.check.failed:has(img)"] == len(shown)
    assert seen.counts["article.check.failed"] == len(failed)
    for name in shown:
        assert name.split(": ", 1)[1] in seen.text
    # 64: the hidden checks of pooling (a stride unlike the window) and preprocessing (/ 256) fail too.
    assert "Score: 64 / 84" in seen.text
    assert "hint: your output equals a true convolution (kernel flipped)" in seen.text
    assert "you divided by 256" in seen.text
    # The relu failures quote the submission's exception: shown as text, changing nothing.
    for text in INJECTIONS:
        assert text in seen.text, text
    print(f"page {len(html)} bytes, screenshot {seen.width}x{seen.height}")


@pytest.mark.slow
def test_the_accuracy_bars_show_the_graders_own_measurements_trained_and_replayed(tmp_path, shared_cache):
    pages = [tmp_path / "trained.html", tmp_path / "replayed.html"]
    first = run_grader("solutions", tmp_path, "--train-cache", str(shared_cache), "--html", str(pages[0]))
    second = run_grader("solutions", tmp_path, "--train-cache", str(shared_cache), "--html", str(pages[1]),
                        "-k", "bar")
    assert first.results["score"] == 100 and second.results["score"] == second.results["max_score"] == 16
    assert second.output.count("unchanged code: the cached run of it is reused") == 3, second.output[-2000:]
    for run, page in zip((first, second), pages):
        html = page.read_text()
        expect_inert(html)
        seen = look(page, page.with_suffix(".png"), tuple(f'img[alt="{title}"]' for title in BAR_PICTURES)
                    + ("article.check.passed",))
        assert all(seen.counts[f'img[alt="{title}"]'] == 3 for title in BAR_PICTURES), seen.counts
        assert seen.counts["article.check.passed"] == 3
        bars = [test for test in run.results["tests"] if "accuracy bars" in test["tags"]]
        assert len(bars) == 3
        for test in bars:  # the accuracy each bar reached, as results.json says, and its curve's last point
            reached = re.search(r"test accuracy (\d+\.\d+)% after ([\d.]+ epochs?)", test["output"])
            assert reached and float(reached[1]) >= 97 and test["output"] in seen.text, test["output"]
            assert re.search(rf"test accuracy \d+\.\d+% after {reached[2]} \(bar", seen.text), reached[0]
        assert "true \u2192 predicted" in seen.text
        print(f"{page.name}: {len(html)} bytes")
    # Replayed or trained, the same measurements: the same pictures.
    pictures_of = [re.findall(r'<img src="([^"]+)" alt="([^"]+)"', page.read_text()) for page in pages]
    assert len(pictures_of[0]) == 9 and pictures_of[0] == pictures_of[1]


def test_course_grade_publishes_the_same_page_with_the_record(tmp_path):
    """``RESULTS/<id>/feedback.html``: the run's pictures, the record's status, notes and
    flags, every name from the submission escaped."""
    folder = tmp_path / "class" / "eve<svg onload=alert(5)>"
    hostile_dir = folder / "<b onmouseover=alert(3)>"
    (hostile_dir / "more").mkdir(parents=True)
    activations = raise_hostile((SOLUTIONS_DIR / "activations.py").read_text(), "relu")
    (hostile_dir / "activations.py").write_text(activations)
    (hostile_dir / "more" / "activations.py").write_text(activations)
    convolution = changed_sources(MISTAKES["conv_kernel_flipped"])["convolution"]
    (hostile_dir / "convolution.py").write_text(convolution + "\nimport sys\n_SEEN = sys.modules\n")
    [entry] = discover(tmp_path / "class")
    out = tmp_path / "results"
    record = grade_student(entry, Settings(out=out, call_timeout=60), warm_grader())
    assert record.status == "graded" and record.flags and record.notes, record
    student = out / entry.id
    html = (student / "feedback.html").read_text()
    results = json.loads((student / "results.json").read_text())
    assert html.startswith("<!DOCTYPE html>") and "<svg" not in html and "<b " not in html
    elements = expect_inert(html)
    assert sum(tag == "img" for tag, _ in elements.tags) == 4 * 5  # the five conv2d failures
    seen = look(student / "feedback.html", tmp_path / "feedback.png", (".flag", ".note"))
    assert f"Feedback for {entry.id}" in seen.text and "<svg onload=alert(5)>" in seen.text
    assert f"Score: {results['score']:g} / {results['max_score']:g}, graded" in seen.text
    assert "several copies of activations.py: graded <b onmouseover=alert(3)>/activations.py" in seen.text
    assert seen.counts[".flag"] == len(record.flags) and "convolution.py:" in seen.text
    assert all(text in seen.text for text in INJECTIONS)


def hidden_results() -> dict:
    def test(exercise, title, score, max_score, output="", visibility=None, tags=None):
        entry = {"name": f"{exercise}: {title}", "score": score, "max_score": max_score,
                 "status": "passed" if score == max_score else "failed", "output": output,
                 "tags": tags or [exercise]}
        return entry if visibility is None else {**entry, "visibility": visibility}

    return {"score": 7.0, "max_score": 12.0, "tests": [
        test("convolution", "conv2d on the lesson's example", 0, 2, "conv2d(...):\n  values differ"),
        test("convolution", "SECRET conv2d corner case", 0, 3, f"SECRET message {HOSTILE}", "hidden"),
        test("convolution", "SECRET passing check", 2, 2, "SECRET note", "after_published"),
        test("convolution", "conv2d rejects bad input", 1, 1, "", "visible"),
        test("activations", "relu: stub", 0, 2, "relu: not implemented yet"),
        test("model", "your MNISTModel trains to 98%", 4, 4, "test accuracy 98.10% after 1 epoch",
             tags=["model", "accuracy bars"]),
    ]}


def test_the_renderer_shows_hidden_checks_only_as_points_and_escapes_every_text():
    png = base64.b64encode(pictures.comparison_pngs(Comparison(*[np.eye(3)] * 2, np.eye(3) * 2))[0]["png"]
                           .encode()).decode()  # double encoding: not a PNG once decoded
    good = pictures.comparison_pngs(Comparison(np.eye(3), np.eye(3), np.eye(3) * 2))
    figures = {
        "grader/test_convolution.py::test_visible": [{**p, "check": "convolution: conv2d on the lesson's example"}
                                                     for p in good],
        "grader/test_convolution.py::test_secret": [{**p, "check": "convolution: SECRET conv2d corner case"}
                                                    for p in good],
        "bad": [{"title": "not a png", "png": png, "check": "model: your MNISTModel trains to 98%"},
                {"title": "not base64", "png": "<script>", "check": "model: your MNISTModel trains to 98%"}],
        "worse": "not a list",
    }
    record = {"id": f"eve{INJECTIONS[0]}", "status": "timeout", "reason": HOSTILE, "notes": [HOSTILE],
              "flags": [{"file": "model<b>.py", "line": 3, "reason": HOSTILE}]}
    html = render_page(hidden_results(), figures, record)
    elements = expect_inert(html)
    assert "SECRET" not in html
    assert html.count(HIDDEN_CHECK) == 2
    assert sum(tag == "img" for tag, _ in elements.tags) == 4  # the visible failure's; never the hidden one's
    assert re.search(r"convolution</span><span[^>]*>3 / 8 points", html)  # hidden points counted
    assert "Score: <strong>7 / 12</strong>, graded, but some of your code ran out of time" in html
    assert "Not implemented yet: relu (2 points)" in html
    assert "test accuracy 98.10% after 1 epoch" in html
    for text in (INJECTIONS[0], INJECTIONS[2]):
        assert text not in html
    assert html.count("&lt;/td&gt;") == 3 and html.count("&lt;img src=x onerror=alert(2)&gt;") == 3  # reason, note, flag
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 5  # title, h1, reason, note, flag
    assert "model&lt;b&gt;.py:3" in html and "{{ 7*7 }}" in html
    assert render_page({}, {}).count("<section") == 0 and render_page("nonsense", None)  # never a crash


@pytest.mark.parametrize("actual", [
    "a string", [[1.0, 2.0]], np.eye(4), np.full((3, 3), np.nan), np.array([[np.inf] * 3] * 3),
    np.array([["a"] * 3] * 3), np.zeros((3, 3), dtype=object), np.ma.masked_array(np.eye(3)),
    np.zeros((0, 3)),
])
def test_no_picture_of_what_cannot_be_drawn(actual):
    assert pictures.comparison_pngs(Comparison(np.eye(3), np.eye(3), actual)) == []
    assert pictures.comparison_pngs(Comparison(np.eye(3), actual, np.eye(3))) == []


def test_pictures_are_small_and_say_what_they_crop():
    image = np.random.default_rng(0).normal(size=(40, 50))
    drawn = pictures.comparison_pngs(Comparison(image, image[:38, :48], image[:38, :48] + 1))
    assert [picture["title"] for picture in drawn] == list(COMPARISON)
    assert "top-left 28x28 of 40x50" in drawn[0]["note"] and "top-left 28x28 of 38x48" in drawn[1]["note"]
    assert all(len(base64.b64decode(picture["png"])) < 30_000 for picture in drawn)
    sliced = pictures.comparison_pngs(Comparison(np.ones((4, 5, 3)), np.ones((2, 2, 3)), np.zeros((2, 2, 3)),
                                                 (..., 0), "channel 1 of 3"))
    assert len(sliced) == 4 and sliced[0]["note"].startswith("channel 1 of 3")
    assert pictures.comparison_pngs(Comparison(np.ones((4, 5)), np.ones(2), np.zeros(2), (7,))) == []
    labels = np.arange(100) % 10
    images = np.zeros((100, 28, 28), np.uint8)
    assert [p["title"] for p in pictures.bar_pngs([[0.5, 0.9]], 0.98, "0" * 100, labels, images)] == list(BAR_PICTURES)
    assert [p["title"] for p in pictures.bar_pngs([[0.5, 0.9]], 0.98, "0x" * 50, labels, images)] == [pictures.CURVE]
    assert pictures.bar_pngs("no", 0.98, "", labels, images) == []
    assert pictures.bar_pngs([[0.5, float("nan")]], 0.98, None, labels, images) == []
