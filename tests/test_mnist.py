"""The offline MNIST loader: real data, checksums, clear errors."""

import shutil
import zipfile

import numpy as np
import pytest

from grader.mnist import ALLOW_DOWNLOAD_ENV, MNISTDataError, load_data
from grader.paths import MNIST_PATH


def test_loads_the_real_mnist_with_keras_layout():
    (x_train, y_train), (x_test, y_test) = load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert list(y_train[:5]) == [5, 0, 4, 1, 9] and list(y_test[:5]) == [7, 2, 1, 0, 4]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert round(float(x_train.mean() / 255), 4) == 0.1307


def test_arrays_are_read_only_so_nobody_corrupts_the_shared_copy():
    (x_train, _), _ = load_data()
    with pytest.raises(ValueError):
        x_train[0, 0, 0] = 1


def test_missing_file_says_how_to_restore_it(tmp_path, monkeypatch):
    monkeypatch.delenv(ALLOW_DOWNLOAD_ENV, raising=False)
    with pytest.raises(MNISTDataError, match="not found.*git checkout -- data_cache/mnist.npz"):
        load_data(tmp_path / "mnist.npz")


def test_a_changed_pixel_fails_the_checksum(tmp_path):
    with np.load(MNIST_PATH) as npz:
        arrays = {name: npz[name].copy() for name in npz.files}
    arrays["x_test"][0, 14, 14] ^= 1
    corrupt = tmp_path / "mnist.npz"
    np.savez_compressed(corrupt, **arrays)
    with pytest.raises(MNISTDataError, match="'x_test' fails its SHA-256"):
        load_data(corrupt)


def test_a_truncated_file_is_reported_as_unreadable(tmp_path):
    broken = tmp_path / "mnist.npz"
    broken.write_bytes(MNIST_PATH.read_bytes()[:100000])
    with pytest.raises(MNISTDataError, match="not a readable MNIST"):
        load_data(broken)


def test_an_npz_without_the_arrays_is_reported(tmp_path):
    other = tmp_path / "mnist.npz"
    np.savez(other, x_train=np.zeros(3))
    with pytest.raises(MNISTDataError, match="not a readable MNIST"):
        load_data(other)


def test_a_recompressed_copy_with_identical_arrays_loads(tmp_path):
    copy = tmp_path / "mnist.npz"
    with zipfile.ZipFile(MNIST_PATH) as source, zipfile.ZipFile(copy, "w", zipfile.ZIP_STORED) as target:
        for item in source.infolist():
            target.writestr(item.filename, source.read(item.filename))
    (x_train, _), _ = load_data(copy)
    assert x_train.shape == (60000, 28, 28)


def test_the_committed_file_is_the_shared_one():
    shared = MNIST_PATH.parent.parent.parent / "shared" / "data" / "mnist.npz"
    if not shared.exists():
        pytest.skip("../shared is not beside this checkout")
    assert shutil.os.path.getsize(shared) == shutil.os.path.getsize(MNIST_PATH)
