"""The training cache replays verdicts for unchanged code and never turns a fail into a pass."""

import shutil
import threading
import time

import pytest

from grader.checking.normalized_source import staged_files
from grader.checking.train_cache import TrainCache
from grader.paths import SOLUTIONS_DIR
from tests.conftest import run_grader

SETTINGS = {"kind": "keras", "seed": 1}


def keras_key(cache, folder, settings=SETTINGS):
    """The key of a Keras bar run of ``folder``'s ``keras_model.py``, staged as the bar stages it."""
    return cache.key(settings, staged_files(folder, ("keras_model",)).files, ("keras_model",))


def student_copy(tmp_path):
    folder = tmp_path / "student"
    shutil.copytree(SOLUTIONS_DIR, folder)
    return folder


def test_entry_is_keyed_by_the_content_of_the_bar_modules_only(tmp_path):
    folder = student_copy(tmp_path)
    cache = TrainCache(tmp_path / "cache")
    key = keras_key(cache, folder)
    assert cache.store(key, {"passed": True})
    assert cache.load(key) == {"passed": True}
    assert keras_key(cache, folder, {**SETTINGS, "seed": 2}) != key
    (folder / "activations.py").write_text("# another exercise changed: not read by the keras bar\n")
    assert keras_key(cache, folder) == key
    source = (folder / "keras_model.py").read_text()
    (folder / "keras_model.py").write_text(source + "\n# a comment: the same program\n")
    assert keras_key(cache, folder) == key
    (folder / "keras_model.py").write_text(source.replace("layers.Dropout(0.2)", "layers.Dropout(0.3)"))
    assert keras_key(cache, folder) != key
    (folder / "keras_model.py").unlink()
    assert keras_key(cache, folder) != key


def test_an_entry_is_written_once_and_never_overwritten(tmp_path):
    cache = TrainCache(tmp_path / "cache")
    assert cache.store("k", {"passed": True})
    assert not cache.store("k", {"passed": False})  # a second writer of the same key
    assert cache.load("k") == {"passed": True}
    assert sorted(path.name for path in (tmp_path / "cache").iterdir()) == ["k.json"]  # no temporary left


def test_concurrent_writers_of_one_key_leave_one_complete_entry(tmp_path):
    cache = TrainCache(tmp_path / "cache")
    outcomes = [{"passed": index % 2 == 0, "padding": "x" * 100_000, "writer": index} for index in range(16)]
    threads = [threading.Thread(target=cache.store, args=("k", outcome)) for outcome in outcomes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entry = cache.load("k")
    assert entry in outcomes
    assert sorted(path.name for path in (tmp_path / "cache").iterdir()) == ["k.json"]


def test_a_corrupt_or_foreign_entry_is_ignored(tmp_path):
    folder = student_copy(tmp_path)
    cache = TrainCache(tmp_path / "cache")
    key = keras_key(cache, folder)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / f"{key}.json").write_text("{not json")
    assert cache.load(key) is None
    (tmp_path / "cache" / f"{key}.json").write_text('{"key": "another key", "outcome": {"passed": true}}')
    assert cache.load(key) is None


@pytest.mark.slow
def test_cached_pass_does_not_survive_a_breaking_edit(tmp_path):
    folder = student_copy(tmp_path)
    cache = tmp_path / "cache"
    args = ("-k", "keras_bar", "--train-cache", str(cache))
    first = run_grader(folder, tmp_path, *args)
    assert first.results["score"] == 6, first.output[-2000:]
    source = (folder / "keras_model.py").read_text()
    broken = source.replace('optimizer="adam"', "optimizer=keras.optimizers.Adam(learning_rate=0.0)")
    assert broken != source
    (folder / "keras_model.py").write_text(broken)
    second = run_grader(folder, tmp_path, *args)
    assert second.results["score"] == 0, "a cached pass was replayed for changed code"
    assert "hopeless" in second.failed_checks()[0]["output"]
    (folder / "keras_model.py").write_text(source)
    third = run_grader(folder, tmp_path, *args)
    assert third.results["score"] == 6
    assert third.results["tests"][0]["execution_time"] < first.results["tests"][0]["execution_time"]


def test_a_claimed_key_waits_for_the_first_run(tmp_path):
    """Two gradings of the same code in parallel: the second replays the first's entry."""
    folder = student_copy(tmp_path)
    cache = TrainCache(tmp_path / "cache")
    key = keras_key(cache, folder)
    seen = []

    def second_run():
        with cache.claim(key):
            seen.append(cache.load(key))

    with cache.claim(key):
        waiting = threading.Thread(target=second_run)
        waiting.start()
        waiting.join(timeout=1.0)
        assert waiting.is_alive() and not seen  # blocked while the first run trains
        cache.store(key, {"passed": False})
    waiting.join(timeout=10)
    assert seen == [{"passed": False}]


def test_a_claim_held_too_long_is_not_waited_for(tmp_path):
    cache = TrainCache(tmp_path / "cache")
    with cache.claim("key"):
        started = time.monotonic()
        with cache.claim("key", patience=1.0):
            waited = time.monotonic() - started
    assert 1.0 <= waited < 5.0


def test_the_key_covers_the_bar_code_that_exists():
    """Every file of ``BAR_CODE`` is there: a moved file would silently drop out of the key."""
    from grader.checking.train_cache import BAR_CODE, environment_fingerprint

    assert "missing" not in environment_fingerprint()["bar_code"].values(), BAR_CODE
    assert "checking/bar_scoring.py" in BAR_CODE


def test_an_older_entry_replays_without_the_fields_it_lacks():
    from grader.checking.bar_scoring import BarOutcome

    old = {"bar": 0.98, "passed": True, "accuracy": 0.981, "epochs": 1.0, "curve": [[1.0, 0.981]],
           "stopped": "bar met", "a field of a later grader": 1}
    outcome = BarOutcome.replayed(old)
    assert outcome.cached and outcome.passed and outcome.predictions == "" and outcome.curve == [[1.0, 0.981]]
