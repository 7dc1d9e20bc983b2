"""Small PNG pictures for the feedback page, drawn with matplotlib (Agg, no pyplot, no
network, matplotlib's bundled DejaVu font) in the grading process.

Every function returns a list of ``{"title", "png", "note"}``: ``png`` is the picture as
base64 (the page embeds it as ``data:image/png;base64,...``), ``title`` its alt text and
caption, ``note`` a line under it (a crop, a slice, the value range). Data that cannot be
drawn (not a plain numeric array, a wrong shape, nan or inf, labels that are not 0..9)
gives no picture, never an exception: the functions return ``[]``.

- ``comparison_pngs(comparison)``: a failed array check (``grader.checking.expectations
  .Comparison``): the input, the expected output, the student's output and their
  difference, side by side; arrays larger than ``CROP`` x ``CROP`` are cropped (and say so).
- ``bar_pngs(curve, bar, predictions, ...)``: an accuracy bar, from the grader's own
  measurements of the trained weights: the accuracy at every evaluation against the bar,
  the 10x10 confusion matrix of the final test predictions, and a grid of misclassified
  test digits with their true and predicted labels.
"""

from __future__ import annotations

import base64
import io
from typing import Any, Sequence

import numpy as np

#: Arrays are drawn up to CROP x CROP cells (the top-left corner of a larger one).
CROP = 28
#: Cells at most this many on a side get their value written in them.
ANNOTATE_UP_TO = 5
#: Misclassified test digits in the grid (the first ones, in test-set order).
MISCLASSIFIED_SHOWN = 20
#: Titles, which are also the pictures' alt texts.
INPUT, EXPECTED, ACTUAL, DIFFERENCE = "input", "expected output", "your output", "difference (yours - expected)"
CURVE, CONFUSION, MISCLASSIFIED = "accuracy curve", "confusion matrix", "misclassified test digits"
_DPI = 80


def comparison_pngs(comparison: Any) -> list[dict]:
    """Four pictures of a failed array check, or ``[]`` if its arrays cannot be drawn."""
    try:
        arrays = [_plain(getattr(comparison, name)) for name in ("input", "expected", "actual")]
        index = tuple(getattr(comparison, "index", ()) or ())
        note = str(getattr(comparison, "note", "") or "")
    except (AttributeError, TypeError):
        return []
    if any(array is None for array in arrays):
        return []
    image, expected, actual = arrays
    if expected.shape != actual.shape:
        return []
    try:
        image, expected, actual = (_two_d(array[index] if index else array) for array in (image, expected, actual))
    except (IndexError, TypeError, ValueError):
        return []
    if any(array is None for array in (image, expected, actual)):
        return []
    low, high = min(expected.min(), actual.min()), max(expected.max(), actual.max())
    difference = actual - expected
    spread = float(np.abs(difference).max()) or 1.0
    prefix = f"{note}; " if note else ""
    pictures = [
        (INPUT, image, "gray", image.min(), image.max()),
        (EXPECTED, expected, "viridis", low, high),
        (ACTUAL, actual, "viridis", low, high),
        (DIFFERENCE, difference, "RdBu_r", -spread, spread),
    ]
    out = []
    for title, array, colours, vmin, vmax in pictures:
        shown, crop = _cropped(array)
        out.append({"title": title, "png": _heatmap(shown, colours, vmin, vmax),
                    "note": f"{prefix}{crop}values {_num(array.min())} to {_num(array.max())}"})
    return out


def bar_pngs(curve: Sequence, bar: float, predictions: str, labels: np.ndarray, images: np.ndarray) -> list[dict]:
    """The accuracy curve; with valid ``predictions`` (one digit per test image) also the
    confusion matrix and the misclassified digits. ``[]`` if nothing can be drawn."""
    points = _curve_points(curve)
    out = []
    if points:
        reached = points[-1][1]
        out.append({"title": CURVE, "png": _curve(points, float(bar)),
                    "note": f"test accuracy {reached:.2%} after {_epochs(points[-1][0])} (bar {float(bar):.0%})"})
    predicted = _labels(predictions, len(labels))
    if predicted is None:
        return out
    truth = np.asarray(labels, np.int64)
    matrix = np.zeros((10, 10), np.int64)
    np.add.at(matrix, (truth, predicted), 1)
    accuracy = float(np.trace(matrix)) / max(1, len(truth))
    out.append({"title": CONFUSION, "png": _confusion(matrix),
                "note": f"rows: the true digit, columns: the predicted one; {accuracy:.2%} on the diagonal"})
    wrong = np.flatnonzero(predicted != truth)
    if len(wrong):
        shown = wrong[:MISCLASSIFIED_SHOWN]
        out.append({"title": MISCLASSIFIED, "png": _digit_grid(images[shown], truth[shown], predicted[shown]),
                    "note": f"true \u2192 predicted: the first {len(shown)} of {len(wrong)} misclassified test images"})
    return out


# --- validation ----------------------------------------------------------------------------

def _plain(value: Any) -> np.ndarray | None:
    """``value`` as float64 if it is a plain numeric NumPy array with only finite values."""
    if type(value) is not np.ndarray or value.dtype.kind not in "biuf" or value.size == 0:
        return None
    array = value.astype(np.float64)
    return array if np.isfinite(array).all() else None


def _two_d(array: np.ndarray) -> np.ndarray | None:
    """A 0-, 1- or 2-D array as 2-D (a row for 1-D); None otherwise or if empty."""
    array = np.asarray(array, np.float64)
    if array.ndim < 2:
        array = array.reshape(1, -1)
    return array if array.ndim == 2 and array.size else None


def _cropped(array: np.ndarray) -> tuple[np.ndarray, str]:
    rows, columns = array.shape
    if rows <= CROP and columns <= CROP:
        return array, ""
    return array[:CROP, :CROP], f"top-left {min(rows, CROP)}x{min(columns, CROP)} of {rows}x{columns}; "


def _curve_points(curve: Any) -> list[tuple[float, float]]:
    points = []
    if not isinstance(curve, (list, tuple)):
        return []
    for point in curve:
        try:
            epochs, accuracy = (float(value) for value in point)
        except (TypeError, ValueError):
            return []
        if not (np.isfinite(epochs) and np.isfinite(accuracy) and 0 <= accuracy <= 1):
            return []
        points.append((epochs, accuracy))
    return points


def _labels(predictions: Any, count: int) -> np.ndarray | None:
    """One digit per test image, or None."""
    if not isinstance(predictions, str) or len(predictions) != count or not count:
        return None
    raw = np.frombuffer(predictions.encode("ascii", "replace"), np.uint8).astype(np.int64) - ord("0")
    return raw if ((raw >= 0) & (raw <= 9)).all() else None


def _epochs(count: float) -> str:
    return f"{count:g} epoch" + ("" if count == 1 else "s")


def _num(value: float) -> str:
    return f"{float(value):.3g}"


# --- drawing -------------------------------------------------------------------------------

def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=_DPI)
    FigureCanvasAgg(figure)
    return figure


def _png(figure) -> str:
    stream = io.BytesIO()
    figure.savefig(stream, format="png", dpi=_DPI, metadata={"Software": None})
    return base64.b64encode(stream.getvalue()).decode("ascii")


def _heatmap(array: np.ndarray, colours: str, vmin: float, vmax: float) -> str:
    rows, columns = array.shape
    scale = 2.0 / max(rows, columns)
    figure = _figure(max(0.6, columns * scale), max(0.6, rows * scale))
    axes = figure.add_axes((0, 0, 1, 1))
    if vmin == vmax:
        vmin, vmax = vmin - 1, vmax + 1
    shown = axes.imshow(array, cmap=colours, vmin=vmin, vmax=vmax, interpolation="nearest", aspect="equal")
    axes.set_axis_off()
    if max(rows, columns) <= ANNOTATE_UP_TO:
        size = 9 if max(rows, columns) <= 4 else 8
        for (row, column), value in np.ndenumerate(array):
            red, green, blue, _ = shown.cmap(shown.norm(value))
            ink = "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"
            axes.text(column, row, f"{value:.3g}", ha="center", va="center", fontsize=size, color=ink)
    return _png(figure)


def _curve(points: list[tuple[float, float]], bar: float) -> str:
    figure = _figure(3.6, 2.4)
    axes = figure.add_axes((0.19, 0.2, 0.76, 0.72))
    epochs = [point[0] for point in points]
    accuracy = [point[1] * 100 for point in points]
    axes.plot(epochs, accuracy, marker="o", color="#1f6feb", label="your model")
    axes.axhline(bar * 100, color="#cf222e", linestyle="--", label=f"bar {bar:.0%}")
    low = min(min(accuracy), bar * 100)
    axes.set_ylim(max(0.0, low - 1.0), min(100.0, max(max(accuracy), bar * 100) + 0.5))
    axes.set_xlim(0, max(max(epochs), 0.5) + 0.25)
    axes.set_xlabel("epochs", fontsize=8)
    axes.set_ylabel("test accuracy (%)", fontsize=8)
    axes.tick_params(labelsize=7)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="lower right")
    return _png(figure)


def _confusion(matrix: np.ndarray) -> str:
    figure = _figure(3.6, 3.6)
    axes = figure.add_axes((0.12, 0.12, 0.85, 0.85))
    shown = np.log1p(matrix)
    axes.imshow(shown, cmap="Blues", interpolation="nearest")
    for (row, column), count in np.ndenumerate(matrix):
        if count:
            ink = "white" if shown[row, column] > 0.6 * shown.max() else "black"
            axes.text(column, row, str(count), ha="center", va="center", fontsize=6, color=ink)
    axes.set_xticks(range(10))
    axes.set_yticks(range(10))
    axes.tick_params(labelsize=7, length=0)
    axes.set_xlabel("predicted", fontsize=8)
    axes.set_ylabel("true", fontsize=8)
    return _png(figure)


def _digit_grid(images: np.ndarray, truth: np.ndarray, predicted: np.ndarray) -> str:
    columns = 5
    rows = -(-len(images) // columns)
    figure = _figure(columns * 0.95, rows * 1.15)
    for index, (image, true, guess) in enumerate(zip(images, truth, predicted)):
        axes = figure.add_subplot(rows, columns, index + 1)
        axes.imshow(np.asarray(image), cmap="gray_r", interpolation="nearest")
        axes.set_axis_off()
        axes.set_title(f"{true} \u2192 {guess}", fontsize=8, pad=2)
    figure.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.92, wspace=0.1, hspace=0.35)
    return _png(figure)
