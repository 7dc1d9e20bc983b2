"""The training cache replays verdicts for unchanged code and never turns a fail into a pass."""

import shutil
import threading
import time

import pytest

from grader.paths import SOLUTIONS_DIR
from grader.train_cache import TrainCache
from tests.conftest import run_grader

SETTINGS = {"kind": "keras", "seed": 1}


def student_copy(tmp_path):
    folder = tmp_path / "student"
    shutil.copytree(SOLUTIONS_DIR, folder)
    return folder


def test_entry_is_keyed_by_module_content(tmp_path):
    folder = student_copy(tmp_path)
    cache = TrainCache(tmp_path / "cache")
    key = cache.key(SETTINGS, folder, ("keras_model",))
    cache.store(key, folder, {"passed": True}, ["keras_model.py"])
    assert cache.load(key, folder) == {"passed": True}
    assert cache.key({**SETTINGS, "seed": 2}, folder, ("keras_model",)) != key
    (folder / "keras_model.py").write_text((folder / "keras_model.py").read_text() + "\n# edit\n")
    assert cache.key(SETTINGS, folder, ("keras_model",)) != key
    assert cache.load(key, folder) is None  # the recorded dependency changed


def test_a_change_to_any_imported_file_invalidates_the_entry(tmp_path):
    folder = student_copy(tmp_path)
    cache = TrainCache(tmp_path / "cache")
    key = cache.key(SETTINGS, folder, ("keras_model",))
    cache.store(key, folder, {"passed": True}, ["keras_model.py", "activations.py"])
    (folder / "activations.py").write_text("# helper the model imported, now changed\n")
    assert cache.load(key, folder) is None


def test_a_corrupt_entry_is_ignored(tmp_path):
    folder = student_copy(tmp_path)
    cache = TrainCache(tmp_path / "cache")
    key = cache.key(SETTINGS, folder, ("keras_model",))
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / f"{key}.json").write_text("{not json")
    assert cache.load(key, folder) is None


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
    key = cache.key(SETTINGS, folder, ("keras_model",))
    seen = []

    def second_run():
        with cache.claim(key):
            seen.append(cache.load(key, folder))

    with cache.claim(key):
        waiting = threading.Thread(target=second_run)
        waiting.start()
        waiting.join(timeout=1.0)
        assert waiting.is_alive() and not seen  # blocked while the first run trains
        cache.store(key, folder, {"passed": False}, ["keras_model.py"])
    waiting.join(timeout=10)
    assert seen == [{"passed": False}]


def test_a_claim_held_too_long_is_not_waited_for(tmp_path):
    cache = TrainCache(tmp_path / "cache")
    with cache.claim("key"):
        started = time.monotonic()
        with cache.claim("key", patience=1.0):
            waited = time.monotonic() - started
    assert 1.0 <= waited < 5.0
