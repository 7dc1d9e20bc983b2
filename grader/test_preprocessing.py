"""Checks for ``preprocessing.py``: normalize, add_channel_axis, one_hot, make_datasets (13 points;
1 more in ``test_preprocessing_hidden.py``, withheld from a student release).

Oracles: NumPy formulas (``x / 255``, ``x[..., None]``, rows of ``np.eye``). For
``make_datasets`` the probe ``datasets.make_datasets`` iterates the student's pipelines
on synthetic data whose examples identify themselves (every pixel of training image i
holds i, its label is i % 10; test images hold 1000 + j), so the checks can read off
the order, the batches and whether images and labels stayed paired.
"""

import numpy as np
import pytest

from grader.checking.expectations import (
    Pictures,
    call_text,
    expect_array,
    expect_close,
    expect_raises,
    expect_untouched,
    fail,
    student_call,
    student_raises,
    value_of,
)

MODULE = "preprocessing"

#: normalize must give x / 255 to float32 precision.
NORMALIZE_RTOL = 1e-6


# --- normalize -------------------------------------------------------------------------

def normalize_mistakes(images):
    x = np.asarray(images, np.float64)
    return [
        (x / 256, "you divided by 256: the largest pixel value is 255, so divide by 255."),
        (x // 255, "integer division (//) leaves only 0s and 1s: use true division, images / 255."),
        (x, "the values were not scaled: divide by 255 so that they lie in [0, 1]."),
        (x / 127.5 - 1, "the values lie in [-1, 1]: normalise to [0, 1] with images / 255."),
        (x / x.max(), "you divided by the largest value of this batch: always divide by 255."),
        ((x - x.min()) / (x.max() - x.min()),
         "min-max scaling depends on the batch: always divide by 255."),
    ]


def normalize_cases(rng):
    mnist_like = rng.integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
    mnist_like[0, 0, :2] = [0, 255]
    return [
        mnist_like,
        rng.integers(10, 200, size=(3, 5)).astype(np.float64),  # neither 0 nor 255 present
        np.array([0, 1, 17, 128, 254, 255], dtype=np.uint8),
    ]


def check_normalize(student, images):
    """normalize(images) must be a new float32 array equal to images / 255, images untouched."""
    __tracebackhide__ = True
    reply = student_call(student, MODULE, "normalize", images)
    # One 2-D picture: the first image of a batch (N, H, W), and its first channel if (N, H, W, C).
    pictures = {3: Pictures(images, (0,), f"image 1 of {len(images)}"),
                4: Pictures(images, (0, ..., 0), f"image 1 of {len(images)}, channel 1")}.get(images.ndim,
                                                                                           Pictures(images))
    result = expect_close(reply["result"], np.asarray(images, np.float64) / 255, reply["what"], rtol=NORMALIZE_RTOL,
                          atol=0, mistakes=normalize_mistakes(images), type_name=reply["type"], pictures=pictures)
    expect_untouched(reply)
    if result.dtype != np.float32:
        hint = ("images / 255 gives float64: convert with .astype(np.float32)."
                if result.dtype == np.float64 else
                "divide with / (not //) and convert to float32: images.astype(np.float32) / 255.")
        fail(reply["what"], f"expected dtype float32, got {result.dtype}", hint)


@pytest.mark.points(1)
def test_normalize(student, rng):
    """normalize returns a new float32 array of images / 255 (0 -> 0, 255 -> 1) and leaves its input untouched"""
    # float32 input too: np.asarray(images, np.float32) does not copy it, so `/=` would write into it.
    cases = normalize_cases(rng)
    for images in [*cases, cases[1].astype(np.float32)]:
        check_normalize(student, images)


RANGE_HINT = ("pixel values outside [0, 255] usually mean the images were normalised already: "
              "raise ValueError unless np.all((images >= 0) & (images <= 255)) (False for NaN too).")
#: Pixels no MNIST image holds: already normalised twice, negative, NaN (``normalize``'s docstring).
OUT_OF_RANGE_PIXELS = [
    ("a pixel of 256", np.array([[0.0, 256.0]])),
    ("a negative pixel", np.array([[-1, 5]], dtype=np.int64)),
    ("a NaN pixel", np.array([[np.nan, 5.0]])),
]


@pytest.mark.points(1)
def test_normalize_rejects_out_of_range(student):
    """normalize rejects pixel values outside [0, 255] (or NaN) with ValueError, as its docstring says"""
    for _, images in OUT_OF_RANGE_PIXELS:
        outcome = student.call("common.call", MODULE, "normalize", images)
        expect_raises(outcome, call_text("normalize", (images,)), ("ValueError",), RANGE_HINT)


# --- add_channel_axis ------------------------------------------------------------------

@pytest.mark.points(1)
def test_add_channel_axis(student, rng):
    """add_channel_axis turns (N, 28, 28) into (N, 28, 28, 1), same values and dtype"""
    cases = [rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8), rng.random((3, 4, 6)).astype(np.float32)]
    for images in cases:
        reply = student_call(student, MODULE, "add_channel_axis", images)
        mistakes = [
            (images[:, None], "the channel axis comes first (N, 1, H, W): Keras's Conv2D reads channels "
                              "last, (N, H, W, 1); use images[..., np.newaxis]."),
            (images[None], "the new axis was added in front: use images[..., np.newaxis] for (N, H, W, 1)."),
            (np.swapaxes(images, 1, 2)[..., None], "rows and columns were swapped: keep (N, H, W) "
                                                   "as it is and add an axis at the end."),
        ]
        result = expect_close(reply["result"], images[..., None], reply["what"], rtol=0, atol=0,
                              mistakes=mistakes, type_name=reply["type"])
        expect_untouched(reply)
        if result.dtype != images.dtype:
            fail(reply["what"], f"expected dtype {images.dtype} (the input's), got {result.dtype}",
                 "adding an axis changes no value: keep the dtype (images[..., np.newaxis]).")


# --- one_hot ---------------------------------------------------------------------------

def one_hot_mistakes(labels, num_classes):
    labels = np.asarray(labels, np.int64)
    eye = np.eye(num_classes)
    return [
        (eye[(labels - 1) % num_classes], "off by one: the 1 sits at index label - 1; row n has its 1 at "
                                          "column labels[n] (class 0 is column 0)."),
        (eye[(labels + 1) % num_classes], "off by one: the 1 sits at index label + 1; row n has its 1 at "
                                          "column labels[n] (class 0 is column 0)."),
        (np.eye(num_classes + 1)[labels], f"{num_classes + 1} columns: classes 0..{num_classes - 1} need "
                                          f"exactly num_classes = {num_classes} columns."),
        (np.eye(num_classes + 1)[labels + 1], "off by one: the 1 sits at index label + 1, in "
                                              f"{num_classes + 1} columns; class 0 is column 0."),
        (eye[labels].T, "the result is transposed: one row per label, one column per class (N, num_classes)."),
        (np.eye(10)[labels % 10], "num_classes is ignored: the output needs num_classes columns."),
    ]


def check_one_hot(student, labels, values=True, **kwargs):
    """one_hot(labels, **kwargs) must equal rows of the identity (or only have their shape).

    Returns the result and the call's text.
    """
    __tracebackhide__ = True
    num_classes = kwargs.get("num_classes", 10)
    reply = student_call(student, MODULE, "one_hot", labels, **kwargs)
    expected = np.eye(num_classes)[labels]
    result = expect_array(reply["result"], reply["what"], reply["type"])
    if values or result.shape != expected.shape:
        expect_close(result, expected, reply["what"], rtol=0, atol=0, mistakes=one_hot_mistakes(labels, num_classes))
    return result, reply["what"]


@pytest.mark.points(1)
def test_one_hot_values(student, rng):
    """one_hot puts a single 1 at column labels[n] of row n (10 classes)"""
    labels = np.concatenate([rng.permutation(10), rng.integers(0, 10, size=6)])
    for case in (labels, labels.astype(np.uint8)):
        check_one_hot(student, case)


@pytest.mark.points(1)
def test_one_hot_dtype_num_classes(student, rng):
    """one_hot returns float32 of shape (N, num_classes), for num_classes 10, 3 and 15"""
    for num_classes in (10, 3, 15):
        labels = np.concatenate([np.arange(num_classes), rng.integers(0, num_classes, size=4)])
        kwargs = {} if num_classes == 10 else {"num_classes": num_classes}
        result, what = check_one_hot(student, labels, values=False, **kwargs)
        if result.dtype != np.float32:
            hint = ("an integer one-hot array: the losses and models work in floats; create it with "
                    "dtype=np.float32." if result.dtype.kind in "biu" else
                    "np.eye and np.zeros default to float64: ask for dtype=np.float32.")
            fail(what, f"expected dtype float32, got {result.dtype}", hint)


BAD_ONE_HOT_CALLS = [
    ("a negative label", (np.array([0, -1, 2]),), {}),
    ("a label equal to num_classes", (np.array([3, 10]),), {}),
    ("a label above num_classes=3", (np.array([0, 5]),), {"num_classes": 3}),
    ("float labels", (np.array([1.0, 2.0]),), {}),
    ("num_classes 0", (np.array([0, 1]),), {"num_classes": 0}),
]


@pytest.mark.points(1)
def test_one_hot_rejects_bad_labels(student):
    """one_hot rejects labels that are negative, >= num_classes or not integers"""
    for _, args, kwargs in BAD_ONE_HOT_CALLS:
        student_raises(student, MODULE, "one_hot", *args, **kwargs)


# --- make_datasets ---------------------------------------------------------------------

N_TRAIN, N_TEST, BATCH = 100, 36, 8
IMAGE_SHAPE = (3, 3, 1)
#: The test examples are numbered from here, so they cannot pass for training examples.
TEST_OFFSET = 1000
SEED = 1234


def _examples(ids):
    images = np.broadcast_to(ids.astype(np.float32)[:, None, None, None], (len(ids), *IMAGE_SHAPE)).copy()
    return images, (ids % 10).astype(np.uint8)


TRAIN_IDS = np.arange(N_TRAIN)
TEST_IDS = TEST_OFFSET + np.arange(N_TEST)
X_TRAIN, Y_TRAIN = _examples(TRAIN_IDS)
X_TEST, Y_TEST = _examples(TEST_IDS)
ARRAYS = (X_TRAIN, Y_TRAIN, X_TEST, Y_TEST)

PAIR_HINT = "build each dataset with tf.data.Dataset.from_tensor_slices((images, labels))."
ALIGNED_HINT = ("labels and images were shuffled separately: shuffle the (image, label) pairs together, "
                "Dataset.from_tensor_slices((x, y)).shuffle(...).")
NOT_SHUFFLED_HINT = ("the training set is not shuffled: call .shuffle(shuffle_buffer, seed=seed, "
                     "reshuffle_each_iteration=True) on the training dataset, before .batch().")


def run_make_datasets(student, batch_size=BATCH, **kwargs):
    """The probe's report on make_datasets(*ARRAYS, batch_size, **kwargs), checked for shape.

    Returns ``(train, test, what)``: the two datasets' reports (each a tf.data.Dataset of
    (images, labels) pairs, else the check fails) and the call's text.
    """
    __tracebackhide__ = True
    kwargs = {"batch_size": batch_size, **kwargs}
    what = call_text("make_datasets", ARRAYS, kwargs)
    reply = value_of(student.call("datasets.make_datasets", *ARRAYS, **kwargs), what)
    if reply["returned"] != "pair":
        fail(what, f"expected a pair (train_ds, test_ds), got {reply['returned']}", "return train_ds, test_ds")
    for name in ("train", "test"):
        info = reply[name]
        if not info["is_dataset"]:
            fail(what, f"{name}_ds: expected a tf.data.Dataset, got {info['type']}", PAIR_HINT)
        if not info["pair"]:
            fail(what, f"{name}_ds: expected (images, labels) elements, got {info['element_spec']}", PAIR_HINT)
        if any(one_pass["truncated"] for one_pass in info["passes"]):
            fail(what, f"{name}_ds: one pass never ends (reading stopped after thousands of examples)",
                 "do not .repeat() the dataset: Keras and the training loop iterate it once per epoch.")
    return reply["train"], reply["test"], what


def ids_of(one_pass, what, name, strict=True):
    """The example numbers of one pass, after checking that images are unchanged.

    Checks of the order only (``strict=False``) accept rescaled pixel values, which keep
    the order: the examples are then numbered by the rank of their value.
    """
    __tracebackhide__ = True
    images, labels = one_pass["images"], one_pass["labels"]
    if images.shape[1:] != IMAGE_SHAPE or labels.ndim != 1:
        fail(what, f"{name}_ds: expected images (B, {', '.join(map(str, IMAGE_SHAPE))}) and labels (B,), "
                   f"got {images.shape[1:]} and {labels.shape[1:]} after the batch axis",
             "make_datasets must not reshape anything: slice the arrays as they are.")
    ids = images[:, 0, 0, 0].astype(np.float64)
    constant = np.array_equal(images, np.broadcast_to(ids[:, None, None, None].astype(images.dtype), images.shape))
    whole = np.array_equal(ids, ids.round())
    if constant and not whole and not strict:
        return np.unique(ids, return_inverse=True)[1].ravel(), labels.astype(np.int64)
    if not constant or not whole:
        fail(what, f"{name}_ds: the pixel values of the images changed",
             "make_datasets must not normalise or modify the images: they arrive preprocessed.")
    return ids.round().astype(np.int64), labels.astype(np.int64)


def expect_complete(ids, labels, expected_ids, what, name):
    """One pass must hold every example of ``expected_ids`` once, with its own label."""
    __tracebackhide__ = True
    if len(ids) != len(expected_ids) or not np.array_equal(np.sort(ids), np.sort(expected_ids)):
        fail(what, f"{name}_ds: one pass should yield each of the {len(expected_ids)} examples once, got "
                   f"{len(ids)} examples ({len(np.unique(ids))} different)",
             "keep every example: no .take(), .repeat() or drop_remainder=True.")
    if not np.array_equal(labels, ids % 10):
        wrong = int((labels != ids % 10).sum())
        fail(what, f"{name}_ds: {wrong} of {len(ids)} labels are no longer paired with their image",
             ALIGNED_HINT)


def _runs(sizes):
    """[8, 8, 8, 4] -> '3 x 8, then 4' (compact list of batch sizes for messages)."""
    parts, start = [], 0
    while start < len(sizes):
        end = start
        while end < len(sizes) and sizes[end] == sizes[start]:
            end += 1
        parts.append(f"{end - start} x {sizes[start]}" if end - start > 1 else f"{sizes[start]}")
        start = end
    return ", then ".join(parts) or "no batches"


def expected_sizes(n, batch_size):
    return [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])


def batch_size_hint(sizes, batch_size, n):
    if any(size is None for size in sizes):
        return "the elements are single examples: group them with .batch(batch_size)."
    if sizes == [batch_size] * (n // batch_size):
        return "the last, smaller batch was dropped: do not use drop_remainder=True."
    if sum(sizes) != n:
        return f"the batches hold {sum(sizes)} examples, not {n}: keep every example once (no .take() or .repeat())."
    if sizes and len(set(sizes[:-1])) == 1 and sizes[0] != batch_size:
        return f"wrong batch size: use the batch_size argument ({batch_size}), got batches of {sizes[0]}."
    return f"wrong batch size: .batch(batch_size) gives batches of {batch_size}, the last one smaller."


@pytest.mark.points(1)
def test_make_datasets_batches(student):
    """make_datasets returns two tf.data.Datasets of (images, labels) batches of batch_size"""
    for batch_size in (BATCH, 32):
        train, test, what = run_make_datasets(student, batch_size)
        for name, info, n in (("train", train, N_TRAIN), ("test", test, N_TEST)):
            if info["spec"][0]["shape"][0] == batch_size:
                fail(what, f"{name}_ds: element_spec {info['element_spec']} has a fixed batch size",
                     "do not use drop_remainder=True: the last, smaller batch must be kept.")
            sizes = info["passes"][0]["batch_sizes"]
            # The training batches may come in any order (the shuffle check looks at that).
            got = sorted(sizes, reverse=True) if name == "train" and None not in sizes else sizes
            want = expected_sizes(n, batch_size)
            if got != want:
                fail(what, f"{name}_ds of {n} examples: expected batches of {_runs(want)}, got {_runs(sizes)}",
                     batch_size_hint(sizes, batch_size, n))


@pytest.mark.points(1)
def test_make_datasets_test_order(student):
    """make_datasets keeps the test set complete and in its original order"""
    _, test, what = run_make_datasets(student)
    ids, labels = ids_of(test["passes"][0], what, "test")
    if np.all(ids < TEST_OFFSET):
        fail(what, "test_ds holds training examples", "return (train_ds, test_ds) in this order, built from "
                                                      "(x_train, y_train) and (x_test, y_test).")
    expect_complete(ids, labels, TEST_IDS, what, "test")
    if not np.array_equal(ids, TEST_IDS):
        first = int(np.argmax(ids != TEST_IDS))
        fail(what, f"test_ds: expected the test examples in their original order, but example {first} "
                   f"of the pass is test example {ids[first] - TEST_OFFSET}",
             "the test set is shuffled: only the training set is shuffled; just .batch() the test set.")


@pytest.mark.points(1)
def test_make_datasets_train_complete(student):
    """one pass over train_ds yields every training example once, its label still paired"""
    train, _, what = run_make_datasets(student)
    if np.all(ids_of(train["passes"][0], what, "train")[0] >= TEST_OFFSET):
        fail(what, "train_ds holds test examples", "return (train_ds, test_ds) in this order.")
    for one_pass in train["passes"]:
        expect_complete(*ids_of(one_pass, what, "train"), TRAIN_IDS, what, "train")


@pytest.mark.points(1)
def test_make_datasets_reshuffles(student):
    """train_ds is shuffled, in a new order on every pass (epoch)"""
    train, _, what = run_make_datasets(student)
    first, second = (ids_of(one_pass, what, "train", strict=False)[0] for one_pass in train["passes"])
    if np.array_equal(first, TRAIN_IDS[:len(first)]):
        fail(what, "train_ds yields the training examples in their original order", NOT_SHUFFLED_HINT)
    if np.array_equal(first, second):
        fail(what, "two passes over train_ds give the same order",
             "shuffled once and never again: use .shuffle(..., reshuffle_each_iteration=True) on the "
             "dataset (not a one-off NumPy permutation), before .batch().")


@pytest.mark.points(1)
def test_make_datasets_seed_and_buffer(student):
    """make_datasets honours seed (same seed, same order) and shuffle_buffer"""
    orders = []
    for _ in range(2):
        train, _, what = run_make_datasets(student, seed=SEED)
        orders.append(ids_of(train["passes"][0], what, "train", strict=False)[0])
    if np.array_equal(orders[0], TRAIN_IDS[:len(orders[0])]):
        fail(what, "train_ds yields the training examples in their original order", NOT_SHUFFLED_HINT)
    if not np.array_equal(orders[0], orders[1]):
        fail(what, "called twice with the same seed, train_ds comes in two different orders",
             "pass the seed on: .shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True).")
    train, _, what = run_make_datasets(student, seed=SEED, shuffle_buffer=1)
    ids = ids_of(train["passes"][0], what, "train", strict=False)[0]
    if not np.array_equal(ids, TRAIN_IDS[:len(ids)]):
        fail(what, "with a shuffle buffer of 1 element the order cannot change, but it did",
             "shuffle_buffer is ignored: pass it on, .shuffle(shuffle_buffer, ...).")


def _is_original_batch(ids):
    """Whether ``ids`` are the examples of one batch of the unshuffled data (0..7, 8..15...)."""
    low = ids.min()
    return low % BATCH == 0 and np.array_equal(np.sort(ids), np.arange(low, low + len(ids)))


@pytest.mark.points(1)
def test_make_datasets_shuffle_before_batch(student):
    """train_ds is shuffled before batching: batches mix examples, not just their order"""
    train, _, what = run_make_datasets(student)
    one_pass = train["passes"][0]
    ids = ids_of(one_pass, what, "train", strict=False)[0]
    sizes = one_pass["batch_sizes"]
    if any(size is None for size in sizes):
        fail(what, "train_ds yields single examples, not batches", batch_size_hint(sizes, BATCH, N_TRAIN))
    if np.array_equal(ids, TRAIN_IDS[:len(ids)]):
        fail(what, "train_ds yields the training examples in their original order", NOT_SHUFFLED_HINT)
    starts = np.cumsum([0] + sizes[:-1])
    if all(_is_original_batch(ids[start:start + size]) for start, size in zip(starts, sizes) if size):
        fail(what, f"every batch of train_ds holds the same {BATCH} neighbouring examples as in the original "
                   "order (e.g. examples 0..7); only the order of the batches changes",
             "shuffle before batch: .shuffle(...).batch(...) mixes examples across batches; "
             ".batch(...).shuffle(...) only reorders fixed batches.")


BAD_DATASET_CALLS = [
    ("fewer training labels than images", (X_TRAIN, Y_TRAIN[:-1], X_TEST, Y_TEST), {}),
    ("more test labels than images", (X_TRAIN, Y_TRAIN, X_TEST[:-2], Y_TEST), {}),
    ("batch_size 0", ARRAYS, {"batch_size": 0}),
]


@pytest.mark.points(1)
def test_make_datasets_rejects_bad_input(student):
    """make_datasets rejects mismatched lengths and batch_size 0 with ValueError/TypeError"""
    for _, args, kwargs in BAD_DATASET_CALLS:
        student_raises(student, MODULE, "make_datasets", *args, **kwargs)
