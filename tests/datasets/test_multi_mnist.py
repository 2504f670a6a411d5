"""The overlapped-item loaders: multi_mnist, multi_fashion and
multi_fashion_mnist."""

import numpy as np
import pytest
from dataset_helpers import FASHION_DIR
from dataset_helpers import check_specs
from dataset_helpers import collect
from dataset_helpers import fake_idx_dir
from dataset_helpers import fake_npz
from dataset_helpers import first
from dataset_helpers import item_numbers
from dataset_helpers import numbered_npz

from mtlzoo import datasets
from mtlzoo.datasets.multi_mnist import compose_pairs


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
    check_specs(ds, tasks, batched=False)
    images, y = collect(ds)
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
    fake_npz(tmp_path / "m.npz", train_value=100, test_value=200)
    for split, value in (("train", 100), ("test", 200)):
        ds, _ = datasets.multi_mnist(split=split, path=tmp_path / "m.npz")
        images, _ = collect(ds)
        assert set(np.unique(images)) == {0.0, float(value)}


def test_multi_mnist_deterministic_under_seed(tmp_path):
    fake_npz(tmp_path / "m.npz")

    def load(seed):
        ds, _ = datasets.multi_mnist(
            path=tmp_path / "m.npz", seed=seed, batch_size=40
        )
        return first(ds)

    (a, la), (b, lb), (c, _) = load(1), load(1), load(2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la["right"], lb["right"])
    assert not np.array_equal(a, c)


def test_multi_fashion_idx_dir_size_channels_batch(tmp_path):
    arrays = fake_npz(tmp_path / "unused.npz")
    directory = fake_idx_dir(tmp_path / "idx", arrays)
    for split, n in (("train", 40), ("test", 20)):  # .gz and plain files
        ds, tasks = datasets.multi_fashion(
            split=split, path=directory, size=64, channels=3, batch_size=8
        )
        images, labels = first(ds)
        assert images.shape == (8, 64, 64, 3) and labels["left"].shape == (8,)
        np.testing.assert_array_equal(images[..., 0], images[..., 2])
        check_specs(ds, tasks)
    ds, _ = datasets.multi_fashion(path=directory, num_samples=100)
    assert int(ds.cardinality()) == 100  # more composites than items


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="no Fashion-MNIST")
def test_real_fashion_mnist_subset():
    ds, tasks = datasets.multi_fashion(
        split="test", path=FASHION_DIR, num_samples=64, batch_size=64
    )
    images, labels = first(ds)
    assert images.shape == (64, 36, 36, 1) and images.max() > 200
    assert len(np.unique(labels["left"])) > 5
    ds, tasks = datasets.fashion_tasks(
        split="test", path=FASHION_DIR, num_samples=32, batch_size=32
    )
    images, labels = first(ds)
    mask = images[..., 0] > 32
    np.testing.assert_array_equal(labels["mask"], mask.astype(np.int32))
    np.testing.assert_allclose(labels["ink"][:, 0], mask.mean((1, 2)))


def test_multi_fashion_mnist_and_samples():
    ds, tasks = datasets.multi_fashion_mnist(
        split="test", fashion_path="sample", mnist_path="sample", batch_size=200
    )
    images, labels = first(ds)
    assert images.shape == (200, 36, 36, 1)
    with np.load(datasets.sample_path("fashion_mnist")) as data:
        fashion_counts = np.bincount(data["y_test"], minlength=10)
    np.testing.assert_array_equal(
        np.bincount(labels["left"], minlength=10), fashion_counts
    )
    ds, _ = datasets.multi_mnist(split="train", path="sample", size=28)
    assert first(ds)[0].shape == (28, 28, 1)


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


def test_multi_loaders_compose_validation_pairs_from_held_out_items(tmp_path):
    npz = numbered_npz(tmp_path / "m.npz")
    held = datasets.fashion_tasks(
        split="validation", path=npz, validation_split=0.25, shuffle=False
    )[0]
    held = item_numbers(held)
    for split in ("train", "validation"):
        ds, _ = datasets.multi_mnist(
            split=split, path=npz, validation_split=0.25, num_samples=60
        )
        left, right = item_numbers(ds), item_numbers(ds, (33, 33))
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
        left, right = item_numbers(ds), item_numbers(ds, (33, 33))
        assert (left | right <= held) == (split == "validation")
